import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { prepareDatabase } from '../../src/bootstrap.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.ts';
import { attachContractCheck } from './contract.ts';
import { createDatabaseFromTemplate, testDbMode } from './database.ts';

export type TestApp = {
  app: FastifyInstance;
  database: DatabaseHandle;
  config: Config;
  close: () => Promise<void>;
};

/** A fresh database and an app on it, for one test file. Call `close` in afterAll (or see useTestApp). */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (testDbMode() === 'postgres') {
    const created = await createDatabaseFromTemplate();
    databaseUrl = created.url;
    drop = created.drop;
  }
  // Each app gets its own evidence directory unless the test names one: the orphan sweep must never see
  // files another database knows (such as a developer's ./data/evidence).
  const ownEvidenceDir = env.EVIDENCE_DIR ? null : await mkdtemp(join(tmpdir(), 'sa-evidence-'));
  // Likewise its own data directory: invitations made without SMTP are written to a file there.
  const ownDataDir = env.DATA_DIR ? null : await mkdtemp(join(tmpdir(), 'sa-data-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    ...(ownEvidenceDir ? { EVIDENCE_DIR: ownEvidenceDir } : {}),
    ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}),
    LOG_LEVEL: 'silent',
    AUTH_FAILURES_PER_MINUTE: '1000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const database = createDatabase({ databaseUrl, pgliteDir: 'memory://', poolSize: 20 });
  if (database.kind === 'pglite') await prepareDatabase(database.db);
  const app = await buildApp({ config, database, logger: false });
  // Every answer these tests receive is checked against the OpenAPI document (SPEC §5).
  const contract = attachContractCheck(app);
  await app.ready();
  return {
    app,
    database,
    config,
    close: async () => {
      await app.close();
      await database.close();
      await drop();
      if (ownEvidenceDir) await rm(ownEvidenceDir, { recursive: true, force: true });
      if (ownDataDir) await rm(ownDataDir, { recursive: true, force: true });
      if (contract.violations.length) {
        const lines = contract.violations.slice(0, 20).map((v) => `${v.request} → ${v.status}: ${v.problem}`);
        throw new Error(
          `${contract.violations.length} answers differ from the OpenAPI document:\n${lines.join('\n')}`,
        );
      }
    },
  };
}

/** Serves `app` over a real socket on a free local port (for what `inject` cannot do); returns the port. */
export async function listenOnFreePort(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

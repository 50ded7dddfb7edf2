import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { prepareDatabase } from '../../src/bootstrap.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.ts';
import { createDatabaseFromTemplate, testDbMode } from './database.ts';

export type TestApp = {
  app: FastifyInstance;
  database: DatabaseHandle;
  config: Config;
  close: () => Promise<void>;
};

/** A fresh database and an app on it, for one test file. Call `close` in afterAll. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (testDbMode() === 'postgres') {
    const created = await createDatabaseFromTemplate();
    databaseUrl = created.url;
    drop = created.drop;
  }
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    AUTH_FAILURES_PER_MINUTE: '1000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const database = createDatabase({ databaseUrl, pgliteDir: 'memory://', poolSize: 20 });
  if (database.kind === 'pglite') await prepareDatabase(database.db);
  const app = await buildApp({ config, database, logger: false });
  await app.ready();
  return {
    app,
    database,
    config,
    close: async () => {
      await app.close();
      await database.close();
      await drop();
    },
  };
}

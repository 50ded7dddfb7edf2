import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { buildApp } from '../../src/app.ts';
import { prepareDatabase } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase, embeddedDatabaseDir } from '../../src/db/index.ts';
import { ok } from '../helpers/applications.ts';
import { runCli } from '../helpers/cli.ts';
import { createDatabaseFromTemplate, testDbMode } from '../helpers/database.ts';
import { awardedApplication, shift } from '../helpers/jobs.ts';
import { createWorld } from '../helpers/world.ts';

/** `npm run cli -- tick …` in its own process, as an operator or a drill would run it. */
function cli(args: string[], env: Record<string, string>) {
  return runCli(args, { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env });
}

describe('a restart between scheduling and firing loses nothing', () => {
  it('a timer scheduled by one process is fired by `tick --now` in another, once', async () => {
    // A database that outlives the app: a cloned Postgres database, or an embedded one on disk.
    const dataDir = await mkdtemp(join(tmpdir(), 'sa-restart-'));
    const created = testDbMode() === 'postgres' ? await createDatabaseFromTemplate() : null;
    const dbEnv: Record<string, string> = created ? { DATABASE_URL: created.url } : { DATA_DIR: dataDir };
    const open = () =>
      createDatabase({ databaseUrl: created?.url, pgliteDir: embeddedDatabaseDir(dataDir), poolSize: 4 });
    try {
      let database = open();
      await prepareDatabase(database.db);
      const config = loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        EVIDENCE_DIR: join(dataDir, 'evidence'),
        ...dbEnv,
      });
      const app = await buildApp({ config, database, logger: false });
      await app.ready();
      const w = await createWorld(app, database.db);
      const { awardId } = await awardedApplication(app, w, 'restart');
      const expiresAt = ok(await w.admin.api.get(`/awards/${awardId}`)).expiresAt as string;
      await app.close();
      await database.close();

      const at = shift(expiresAt, -80).toISOString();
      const refused = await cli(['tick', '--now', at], dbEnv);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/refused unless ALLOW_CLOCK_OVERRIDE=1/);

      const first = await cli(['tick', '--now', at], { ...dbEnv, ALLOW_CLOCK_OVERRIDE: '1' });
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({
        now: at,
        timers: { fired: 1, skipped: 0, failed: 0 },
      });

      database = open();
      try {
        const award = await database.db
          .selectFrom('awards')
          .select(['state', 'version'])
          .where('id', '=', awardId)
          .executeTakeFirstOrThrow();
        expect(award).toEqual({ state: 'renewalDue', version: 2 });
        const events = await database.db
          .selectFrom('award_events')
          .select('type')
          .where('award_id', '=', awardId)
          .orderBy('id')
          .execute();
        expect(events.map((e) => e.type)).toEqual(['AWARDED', 'RENEWAL_DUE']);
      } finally {
        await database.close();
      }
    } finally {
      await created?.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

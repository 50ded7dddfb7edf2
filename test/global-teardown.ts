import { RUN_PREFIX, withAdminClient } from './helpers/database.ts';

/** Drops the run's template and any database a crashed test file left behind; stops the container. */
export default async function globalTeardown() {
  const serverUrl = process.env.TEST_SERVER_URL;
  const template = process.env.TEST_TEMPLATE_DATABASE;
  if (serverUrl && template?.startsWith(RUN_PREFIX)) {
    await withAdminClient(serverUrl, async (c) => {
      const { rows } = await c.query<{ datname: string }>(
        'select datname from pg_database where datname like $1',
        [`${template}%`],
      );
      for (const { datname } of rows) await c.query(`drop database if exists "${datname}" with (force)`);
    });
  }
  const container = (globalThis as { __pgContainer?: { stop(): Promise<unknown> } }).__pgContainer;
  await container?.stop();
}

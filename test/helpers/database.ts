import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Where tests find Postgres (SPEC §7): the server in DATABASE_URL, each test file in a fresh database
 * cloned from a template migrated once per run; else a throwaway testcontainers Postgres; else the
 * embedded PGlite, one in-memory instance per test file.
 */
export type TestDbMode = 'postgres' | 'pglite';

export const testDbMode = (): TestDbMode => (process.env.TEST_DB_MODE === 'postgres' ? 'postgres' : 'pglite');

/** Tests that need a real server (several connections, locks across sessions) are skipped on PGlite. */
export const onRealPostgres = () => testDbMode() === 'postgres';

export function databaseUrlFor(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export const RUN_PREFIX = 'sa_test_';

export async function withAdminClient<T>(
  serverUrl: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Clones the run's template into a new database and returns its URL. */
export async function createDatabaseFromTemplate(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = process.env.TEST_SERVER_URL as string;
  const template = process.env.TEST_TEMPLATE_DATABASE as string;
  const name = `${template}_${randomBytes(4).toString('hex')}`;
  await withAdminClient(serverUrl, (c) => c.query(`create database "${name}" template "${template}"`));
  return {
    url: databaseUrlFor(serverUrl, name),
    drop: () =>
      withAdminClient(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`)).then(
        () => {},
      ),
  };
}

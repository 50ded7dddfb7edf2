import { randomBytes } from 'node:crypto';
import { prepareDatabase } from '../src/bootstrap.ts';
import { createDatabase } from '../src/db/index.ts';
import { databaseUrlFor, RUN_PREFIX, withAdminClient } from './helpers/database.ts';

/** Picks the database for this run and, on a real server, migrates a template database once. */
export default async function globalSetup() {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    serverUrl = await startContainer();
  }
  if (!serverUrl) {
    process.env.TEST_DB_MODE = 'pglite';
    console.log(
      '\n[tests] No DATABASE_URL and no Docker engine: running on the embedded PGlite; tests that need a real server are skipped.',
    );
    return;
  }
  const template = `${RUN_PREFIX}${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await withAdminClient(serverUrl, (c) => c.query(`create database "${template}"`));
  const handle = createDatabase({ databaseUrl: databaseUrlFor(serverUrl, template), poolSize: 2 });
  try {
    await prepareDatabase(handle.db);
  } finally {
    await handle.close();
  }
  process.env.TEST_DB_MODE = 'postgres';
  process.env.TEST_SERVER_URL = serverUrl;
  process.env.TEST_TEMPLATE_DATABASE = template;
  console.log(
    `\n[tests] Postgres at ${new URL(serverUrl).host}: each test file gets a clone of ${template}.`,
  );
}

/** A throwaway Postgres through testcontainers, where a Docker engine runs. */
async function startContainer(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        getContainerRuntimeClient(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no container runtime')), 5000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:17-alpine').start();
    (globalThis as { __pgContainer?: unknown }).__pgContainer = container;
    return container.getConnectionUri();
  } catch {
    return undefined;
  }
}

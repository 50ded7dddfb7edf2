import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
/** A repository function takes either the database or an open transaction. */
export type DbOrTrx = Kysely<Database> | Transaction<Database>;
/** An open transaction: functions that lock rows (`FOR UPDATE`) take this, so a lock outside a transaction does not compile. */
export type Trx = Transaction<Database>;

export type DatabaseHandle = {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Checks the database answers; used by readiness. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
};

// pg returns int8/numeric as strings and DATE as a local-midnight Date; we want numbers and plain dates.
const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;
const typeOverrides = new pg.TypeOverrides();
typeOverrides.setTypeParser(INT8, (v: string) => Number(v));
typeOverrides.setTypeParser(NUMERIC, (v: string) => Number(v));
typeOverrides.setTypeParser(DATE, (v: string) => v);

/**
 * Kysely's pg driver sends every query as an unnamed statement, which Postgres plans anew on each
 * execution: for the application view that planning cost four times the execution. Naming each
 * distinct SQL text (by its hash) makes pg prepare it once per connection, and Postgres then reuses a
 * generic plan. The number of names is capped so ad-hoc SQL cannot grow the per-connection cache forever.
 */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 2000;
function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (!name && statementNames.size < MAX_NAMED_STATEMENTS && text.length < 20_000) {
    name = `s_${createHash('sha1').update(text).digest('base64url')}`;
    statementNames.set(text, name);
  }
  return name;
}

class PreparingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; this only adds a name to (text, values).
  override query(config: any, values?: any, callback?: any): any {
    const name =
      typeof config === 'string' && typeof values !== 'function' && !callback
        ? statementName(config)
        : undefined;
    return name ? super.query({ name, text: config, values }) : super.query(config, values, callback);
  }
}

export type DatabaseOptions = {
  databaseUrl?: string;
  poolSize?: number;
  /** Embedded PGlite data directory; `memory://` keeps it in memory (tests). */
  pgliteDir?: string;
  onPoolError?: (err: Error) => void;
};

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      Client: PreparingClient,
      max: options.poolSize ?? 10,
      types: typeOverrides,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    });
    // Without a listener an idle client's error (e.g. Postgres restarting) kills the process.
    pool.on('error', (err) => options.onPoolError?.(err));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      kind: 'postgres',
      ping: (timeoutMs = 2000) => ping(db, timeoutMs),
      close: () => db.destroy(),
    };
  }
  const dir = options.pgliteDir ?? 'memory://';
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  // pg_trgm backs the organisation-name search index (migration 0005), as on a Postgres server.
  const pglite = new PGlite(dir, { extensions: { pg_trgm } });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    ping: (timeoutMs = 2000) => ping(db, timeoutMs),
    close: () => db.destroy(),
  };
}

export function embeddedDatabaseDir(dataDir: string): string {
  return join(dataDir, 'pgdata');
}

async function ping(db: Db, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

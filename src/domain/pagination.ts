import { type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import { validationFailed } from './errors.ts';

/** Keyset pagination and sorting for every list: cursors are opaque to clients, stable under inserts. */

type Cursor = [value: string | number | null, id: string];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const invalidCursor = () =>
  validationFailed('cursor is not a cursor this API issued', [
    { path: 'query.cursor', message: 'invalid cursor' },
  ]);

function decodeCursor(cursor: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      (parsed[0] === null || typeof parsed[0] === 'string' || typeof parsed[0] === 'number') &&
      typeof parsed[1] === 'string' &&
      UUID.test(parsed[1])
    ) {
      return parsed as Cursor;
    }
  } catch {
    // fall through
  }
  throw invalidCursor();
}

/** Postgres data exceptions (class 22: bad uuid, timestamp, …) caused by a forged or carried-over cursor. */
const isDataException = (err: unknown) => /^22/.test(String((err as { code?: unknown } | null)?.code ?? ''));

/** The extra column holding the sort column's exact value as text, for the next cursor. */
const CURSOR_VALUE = '__cursor_value';

type CursorValue = { __cursor_value: string | null };

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

export type SortSpec = {
  /** Fully qualified SQL column to order by, e.g. `organisations.name`. */
  column: string;
  direction: 'asc' | 'desc';
};

/** `%text%` for ILIKE, with the pattern characters of `text` escaped (a trigram index serves it). */
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

/** Parses `?sort=name` / `?sort=-createdAt` against the columns a list allows. */
export function parseSort(sort: string | undefined, allowed: Record<string, string>, fallback: string) {
  const raw = sort ?? fallback;
  const direction: 'asc' | 'desc' = raw.startsWith('-') ? 'desc' : 'asc';
  const key = raw.replace(/^[-+]/, '');
  const column = allowed[key];
  if (!column) {
    throw validationFailed(
      `sort must be one of ${Object.keys(allowed).join(', ')} (prefix - for descending)`,
      [{ path: 'query.sort', message: 'unknown sort key' }],
    );
  }
  return { key, column, direction };
}

/**
 * Keyset pagination over (sort column, id): stable under inserts, constant cost per page at any depth.
 * The id column breaks ties and must be unique.
 */
export async function keysetPage<DB, TB extends keyof DB, Row extends { id: string }>(
  qb: SelectQueryBuilder<DB, TB, Row>,
  opts: { idColumn: string; sort: SortSpec; limit: number; cursor?: string },
): Promise<{ items: Row[]; nextCursor: string | null }> {
  const { sort, limit } = opts;
  // The sort column is chosen at run time from a list the caller allows, so it is a raw reference.
  const column = sql.ref(sort.column);
  const idColumn = sql.ref(opts.idColumn);
  let q = qb;
  if (opts.cursor) {
    const [value, id] = decodeCursor(opts.cursor);
    const after = sql.raw(sort.direction === 'asc' ? '>' : '<');
    const from = sql.raw(sort.direction === 'asc' ? '>=' : '<=');
    // The redundant `column >= value` bound lets Postgres start an index range scan at the cursor
    // instead of filtering every earlier row (an OR alone is not an index condition).
    q = q.where(
      sql<SqlBool>`(${column} ${from} ${value} and (${column} ${after} ${value} or (${column} = ${value} and ${idColumn} ${after} ${id})))`,
    );
  }
  // Kysely cannot simplify `Row & {cursor}` for a generic Row: the rows are named as what they are.
  const rows: (Row & CursorValue)[] = await q
    .select(sql<string | null>`${column}::text`.as(CURSOR_VALUE))
    .orderBy(column, sort.direction)
    .orderBy(idColumn, sort.direction)
    .limit(limit + 1)
    .execute()
    .then((found) => found as unknown as (Row & CursorValue)[])
    .catch((err: unknown) => {
      // A cursor's value that does not fit the sort column (e.g. one issued for another sort order).
      throw opts.cursor && isDataException(err) ? invalidCursor() : err;
    });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? encodeCursor([last[CURSOR_VALUE], last.id]) : null;
  const items = page.map(({ [CURSOR_VALUE]: _value, ...row }) => row as unknown as Row);
  return { items, nextCursor };
}

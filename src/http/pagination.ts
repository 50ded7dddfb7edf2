import type { SelectQueryBuilder } from 'kysely';
import { z } from 'zod';
import { validationFailed } from './problem.ts';

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Page size (1–500)'),
  cursor: z.string().max(500).optional().describe('The `nextCursor` of the previous page'),
};

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

type Cursor = [value: string | number | null, id: string];

function decodeCursor(cursor: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[1] === 'string') return parsed as Cursor;
  } catch {
    // fall through
  }
  throw validationFailed('cursor is not a cursor this API issued', [{ path: 'query.cursor', message: 'invalid cursor' }]);
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

export type SortSpec = {
  /** Fully qualified SQL column to order by, e.g. `organisations.name`. */
  column: string;
  direction: 'asc' | 'desc';
  /** The row's value of that column, for the next cursor. */
  valueOf: (row: any) => string | number | null;
};

/** Parses `?sort=name` / `?sort=-createdAt` against the columns a list allows. */
export function parseSort(sort: string | undefined, allowed: Record<string, string>, fallback: string) {
  const raw = sort ?? fallback;
  const direction: 'asc' | 'desc' = raw.startsWith('-') ? 'desc' : 'asc';
  const key = raw.replace(/^[-+]/, '');
  const column = allowed[key];
  if (!column) {
    throw validationFailed(`sort must be one of ${Object.keys(allowed).join(', ')} (prefix - for descending)`, [
      { path: 'query.sort', message: 'unknown sort key' },
    ]);
  }
  return { key, column, direction };
}

/**
 * Keyset pagination over (sort column, id): stable under inserts, constant cost per page at any depth.
 * The id column breaks ties and must be unique.
 */
export async function keysetPage<Row extends { id: string }>(
  qb: SelectQueryBuilder<any, any, Row>,
  opts: { idColumn: string; sort: SortSpec; limit: number; cursor?: string },
): Promise<{ items: Row[]; nextCursor: string | null }> {
  const { idColumn, sort, limit } = opts;
  let q = qb as SelectQueryBuilder<any, any, Row>;
  if (opts.cursor) {
    const [value, id] = decodeCursor(opts.cursor);
    const op = sort.direction === 'asc' ? '>' : '<';
    q = q.where((eb: any) =>
      eb.or([eb(sort.column, op, value), eb.and([eb(sort.column, '=', value), eb(idColumn, op, id)])]),
    );
  }
  const rows = await q
    .orderBy(sort.column as any, sort.direction)
    .orderBy(idColumn as any, sort.direction)
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const nextCursor = rows.length > limit && last ? encodeCursor([normalise(sort.valueOf(last)), last.id]) : null;
  return { items, nextCursor };
}

const normalise = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | number | null));

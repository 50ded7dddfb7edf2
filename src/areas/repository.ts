import type { Insertable, Selectable, Updateable } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';
import type { AreasTable } from '../db/schema.ts';
import { keysetPage, type SortSpec } from '../domain/pagination.ts';

export type AreaRow = Selectable<AreasTable>;

/** The columns a list of areas may be sorted by. */
export const AREA_SORT_COLUMNS = { name: 'areas.name', createdAt: 'areas.created_at' };

/** Postgres refused a row that would duplicate a unique column (an area's name). */
export const isUniqueViolation = (err: unknown) => (err as { code?: string })?.code === '23505';

export async function pageOfAreas(
  db: DbOrTrx,
  filter: { nation?: AreaRow['nation']; active?: boolean },
  page: { sort: SortSpec; limit: number; cursor?: string },
) {
  let qb = db.selectFrom('areas').selectAll();
  if (filter.nation) qb = qb.where('nation', '=', filter.nation);
  if (filter.active !== undefined) qb = qb.where('active', '=', filter.active);
  return keysetPage(qb, { idColumn: 'areas.id', ...page });
}

export async function findArea(db: DbOrTrx, id: string): Promise<AreaRow | undefined> {
  return db.selectFrom('areas').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertArea(db: DbOrTrx, area: Insertable<AreasTable>): Promise<AreaRow> {
  return db.insertInto('areas').values(area).returningAll().executeTakeFirstOrThrow();
}

/** Changes an area; undefined when there is no such area. */
export async function updateArea(
  db: DbOrTrx,
  id: string,
  changes: Updateable<AreasTable>,
): Promise<AreaRow | undefined> {
  return db.updateTable('areas').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
}
export const AREA_SORT_KEYS = Object.keys(AREA_SORT_COLUMNS) as (keyof typeof AREA_SORT_COLUMNS)[];

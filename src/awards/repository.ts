import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import { CURRENT_AWARD_STATES } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';
import type { Database } from '../db/schema.ts';
import { likePattern } from '../domain/pagination.ts';
import { streamIdsNamed } from '../streams/repository.ts';
import { selectAwards } from '../workflow/awards.ts';

/** All SQL about awards' lists and the public register (one award is read by the workflow, src/workflow). */

export type AwardFilters = {
  state?: string;
  organisationId?: string;
  areaId?: string;
  stream?: string;
  current?: 'true' | 'false';
  expiringBefore?: string;
  updatedSince?: string;
  q?: string;
};

/** Awards within `scope` (from src/domain/access.ts) matching the list's filters, unsorted. */
export function awardsMatching(
  db: DbOrTrx,
  scope: (eb: ExpressionBuilder<Database, 'awards' | 'organisations'>) => Expression<SqlBool>,
  f: AwardFilters,
) {
  let qb = selectAwards(db).where(scope);
  if (f.state) qb = qb.where('awards.state', '=', f.state);
  if (f.organisationId) qb = qb.where('awards.organisation_id', '=', f.organisationId);
  if (f.areaId) qb = qb.where('organisations.area_id', '=', f.areaId);
  if (f.stream) qb = qb.where('awards.stream_id', 'in', streamIdsNamed(db, f.stream));
  if (f.current) qb = qb.where('awards.state', f.current === 'true' ? 'in' : 'not in', CURRENT_AWARD_STATES);
  if (f.expiringBefore) qb = qb.where('awards.expires_at', '<', new Date(f.expiringBefore));
  if (f.updatedSince) qb = qb.where('awards.updated_at', '>=', new Date(f.updatedSince));
  if (f.q) qb = qb.where('organisations.name', 'ilike', likePattern(f.q));
  return qb;
}

export type RegisterRow = {
  id: string;
  state: string;
  organisation_name: string;
  stream_name: string;
  stream_slug: string;
  area_name: string;
  nation: string;
  awarded_at: Date;
  expires_at: Date;
};

/** The register's columns: organisation, stream, area and dates; nothing about people, panels or evidence. */
function selectRegister(db: DbOrTrx) {
  return db
    .selectFrom('awards')
    .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
    .innerJoin('streams', 'streams.id', 'awards.stream_id')
    .innerJoin('areas', 'areas.id', 'organisations.area_id')
    .select([
      'awards.id',
      'awards.state',
      'organisations.name as organisation_name',
      'streams.name as stream_name',
      'streams.slug as stream_slug',
      'areas.name as area_name',
      'areas.nation',
      'awards.awarded_at',
      'awards.expires_at',
    ]);
}

export type RegisterFilters = {
  stream?: string;
  areaId?: string;
  nation?: 'england' | 'wales' | 'scotland' | 'northern_ireland';
  name?: string;
};

/** Current awards matching the register's filters, unsorted. */
export function currentRegisterMatching(db: DbOrTrx, f: RegisterFilters) {
  let qb = selectRegister(db).where('awards.state', 'in', CURRENT_AWARD_STATES);
  if (f.stream) qb = qb.where('streams.slug', '=', f.stream);
  if (f.areaId) qb = qb.where('organisations.area_id', '=', f.areaId);
  if (f.nation) qb = qb.where('areas.nation', '=', f.nation);
  if (f.name) qb = qb.where('organisations.name', 'ilike', likePattern(f.name));
  return qb;
}

/** One award's register line, whatever its state. */
export async function findRegisterRow(db: DbOrTrx, awardId: string): Promise<RegisterRow | undefined> {
  return (await selectRegister(db).where('awards.id', '=', awardId).executeTakeFirst()) as
    | RegisterRow
    | undefined;
}

/** The keys a list may be sorted by (`?sort=key` or `-key`), and the column each one orders. */
export const AWARD_SORT_COLUMNS = {
  awardedAt: 'awards.awarded_at',
  expiresAt: 'awards.expires_at',
  updatedAt: 'awards.updated_at',
  organisationName: 'organisations.name',
};
export const AWARD_SORT_KEYS = Object.keys(AWARD_SORT_COLUMNS) as (keyof typeof AWARD_SORT_COLUMNS)[];

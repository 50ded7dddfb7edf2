import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import { jsonObjectFrom } from 'kysely/helpers/postgres';
import type { DbOrTrx } from '../db/index.ts';
import type { Database } from '../db/schema.ts';
import { likePattern } from '../domain/pagination.ts';
import { streamIdsNamed } from '../streams/repository.ts';

/** All SQL about organisations and their pledges (their members are users: src/users/repository.ts). */

export type OrganisationRow = {
  id: string;
  name: string;
  stream_id: string;
  area_id: string;
  phase: string | null;
  urn: string | null;
  website: string | null;
  created_at: Date;
  updated_at: Date;
  pledge: { signatory_name: string; signatory_role: string; signed_by: string; signed_at: string } | null;
};

export function selectOrganisations(db: DbOrTrx) {
  return db
    .selectFrom('organisations')
    .select((eb) => [
      'organisations.id',
      'organisations.name',
      'organisations.stream_id',
      'organisations.area_id',
      'organisations.phase',
      'organisations.urn',
      'organisations.website',
      'organisations.created_at',
      'organisations.updated_at',
      jsonObjectFrom(
        eb
          .selectFrom('pledges')
          .select([
            'pledges.signatory_name',
            'pledges.signatory_role',
            'pledges.signed_by',
            'pledges.signed_at',
          ])
          .whereRef('pledges.organisation_id', '=', 'organisations.id'),
      ).as('pledge'),
    ]);
}

export async function findOrganisation(db: DbOrTrx, id: string): Promise<OrganisationRow | undefined> {
  return (await selectOrganisations(db).where('organisations.id', '=', id).executeTakeFirst()) as
    | OrganisationRow
    | undefined;
}

export async function upsertPledge(
  db: DbOrTrx,
  pledge: { organisation_id: string; signatory_name: string; signatory_role: string; signed_by: string },
) {
  const values = { ...pledge, signed_at: new Date() };
  return db
    .insertInto('pledges')
    .values(values)
    .onConflict((oc) => oc.column('organisation_id').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** What a caller writes of an organisation. */
export type OrganisationFields = Pick<
  OrganisationRow,
  'name' | 'stream_id' | 'area_id' | 'phase' | 'urn' | 'website'
>;

export async function insertOrganisation(db: DbOrTrx, values: OrganisationFields): Promise<string> {
  const { id } = await db
    .insertInto('organisations')
    .values(values)
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

/** Changes the given fields (and the change time) of one organisation. */
export async function updateOrganisation(db: DbOrTrx, id: string, changes: Partial<OrganisationFields>) {
  await db
    .updateTable('organisations')
    .set({ ...changes, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export type OrganisationFilters = {
  areaId?: string;
  streamId?: string;
  stream?: string;
  q?: string;
  pledged?: 'true' | 'false';
  updatedSince?: string;
};

/** Organisations within `scope` (from src/domain/access.ts) matching the list's filters, unsorted. */
export function organisationsMatching(
  db: DbOrTrx,
  scope: (eb: ExpressionBuilder<Database, 'organisations'>) => Expression<SqlBool>,
  f: OrganisationFilters,
) {
  let qb = selectOrganisations(db).where(scope);
  if (f.areaId) qb = qb.where('organisations.area_id', '=', f.areaId);
  if (f.streamId) qb = qb.where('organisations.stream_id', '=', f.streamId);
  if (f.stream) qb = qb.where('organisations.stream_id', 'in', streamIdsNamed(db, f.stream));
  if (f.updatedSince) qb = qb.where('organisations.updated_at', '>=', new Date(f.updatedSince));
  if (f.q) qb = qb.where('organisations.name', 'ilike', likePattern(f.q));
  if (f.pledged) {
    qb = qb.where((eb) => {
      const pledged = eb.exists(
        eb
          .selectFrom('pledges')
          .select('pledges.organisation_id')
          .whereRef('pledges.organisation_id', '=', 'organisations.id'),
      );
      return f.pledged === 'true' ? pledged : eb.not(pledged);
    });
  }
  return qb;
}

export async function streamExists(db: DbOrTrx, id: string): Promise<boolean> {
  return Boolean(await db.selectFrom('streams').select('id').where('id', '=', id).executeTakeFirst());
}

export async function areaExists(db: DbOrTrx, id: string): Promise<boolean> {
  return Boolean(await db.selectFrom('areas').select('id').where('id', '=', id).executeTakeFirst());
}

/** The keys a list may be sorted by (`?sort=key` or `-key`), and the column each one orders. */
export const ORGANISATION_SORT_COLUMNS = {
  name: 'organisations.name',
  createdAt: 'organisations.created_at',
  updatedAt: 'organisations.updated_at',
};
export const ORGANISATION_SORT_KEYS = Object.keys(
  ORGANISATION_SORT_COLUMNS,
) as (keyof typeof ORGANISATION_SORT_COLUMNS)[];

import { jsonObjectFrom } from 'kysely/helpers/postgres';
import type { DbOrTrx } from '../db/index.ts';

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

import type { Db } from '../db/index.ts';
import type { Principal } from '../domain/principal.ts';
import { selectOrganisations } from '../organisations/repository.ts';

/**
 * What the home page shows a signed-in person: their roles and the organisations they belong to, read
 * through the organisations' own query and limited to the person's grants (nothing outside them).
 */
export type Home = {
  isAdmin: boolean;
  isAppraiser: boolean;
  leadAreas: string[];
  organisations: {
    id: string;
    name: string;
    stream: string;
    area: string;
    pledge: { signatoryName: string; signedAt: Date } | null;
  }[];
};

export async function homeFor(db: Db, p: Principal): Promise<Home> {
  const [organisations, leadAreas] = await Promise.all([
    p.memberOrganisationIds.length
      ? selectOrganisations(db)
          .innerJoin('streams', 'streams.id', 'organisations.stream_id')
          .innerJoin('areas', 'areas.id', 'organisations.area_id')
          .select(['streams.name as stream_name', 'areas.name as area_name'])
          .where('organisations.id', 'in', p.memberOrganisationIds)
          .orderBy('organisations.name')
          .execute()
      : [],
    p.leadAreaIds.length
      ? db
          .selectFrom('areas')
          .select('name')
          .where('id', 'in', p.leadAreaIds)
          .orderBy('name')
          .execute()
          .then((rows) => rows.map((r) => r.name))
      : [],
  ]);
  return {
    isAdmin: p.isAdmin,
    isAppraiser: p.isAppraiser,
    leadAreas,
    organisations: organisations.map((o) => ({
      id: o.id,
      name: o.name,
      stream: o.stream_name,
      area: o.area_name,
      pledge: o.pledge
        ? { signatoryName: o.pledge.signatory_name, signedAt: new Date(o.pledge.signed_at) }
        : null,
    })),
  };
}

import { type Selectable, sql } from 'kysely';
import {
  type ApplicationSnapshot,
  type EventRole,
  reviveApplicationSnapshot,
} from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';
import type { ApplicationsTable } from '../db/schema.ts';
import type { Principal } from '../http/auth.ts';
import { notFound } from '../http/problem.ts';

export type ApplicationRow = Selectable<ApplicationsTable> & { area_id: string; organisation_name: string };

export type ApplicationAccess = {
  application: ApplicationRow;
  snapshot: ApplicationSnapshot;
  /** How the caller relates to this application; empty means out of scope. */
  relations: Set<EventRole>;
};

export function selectApplications(db: DbOrTrx) {
  return db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .selectAll('applications')
    .select(['organisations.area_id', 'organisations.name as organisation_name']);
}

export type PanelPerson = {
  id: string;
  name: string;
  lived: boolean | null;
  local: boolean | null;
  cos: boolean | null;
};

/** What a view shows besides the row itself: read in the same query as the row (one round trip). */
export type ApplicationDetails = {
  answers: Record<string, string>;
  evidenceCounts: Record<string, number>;
  panelPeople: PanelPerson[];
  awardId: string | null;
};

/** The application row with its answers, evidence counts per criterion, panel people and award id. */
export function selectApplicationsWithDetails(db: DbOrTrx) {
  return selectApplications(db).select([
    sql<Record<string, string>>`(select coalesce(jsonb_object_agg(a.code, a.text), '{}'::jsonb)
      from application_answers a where a.application_id = applications.id)`.as('answers'),
    sql<Record<string, number>>`(select coalesce(jsonb_object_agg(c.code, c.n), '{}'::jsonb) from (
        select code, count(*) as n from evidence e cross join lateral unnest(e.criteria) as code
        where e.application_id = applications.id and e.deleted_at is null group by code) c)`.as(
      'evidence_counts',
    ),
    sql<PanelPerson[]>`(select coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name,
        'lived', p.lived_experience, 'local', p.local_group, 'cos', p.cos_staff)), '[]'::jsonb)
      from users u left join appraiser_profiles p on p.user_id = u.id
      where u.id::text in (select jsonb_array_elements_text(applications.snapshot -> 'context' -> 'panel')))`.as(
      'panel_people',
    ),
    sql<string | null>`(select w.id from awards w where w.application_id = applications.id)`.as('award_id'),
  ]);
}

/**
 * The caller's relations to an application (SPEC §3): admin everywhere; the lead of its area; the
 * organisation's applicant members; an appraiser while on its panel.
 */
export function relationsTo(
  p: Principal | 'system',
  app: { organisation_id: string; area_id: string },
  panel: string[],
) {
  const relations = new Set<EventRole>();
  if (p === 'system') {
    relations.add('system');
    return relations;
  }
  if (p.isAdmin) relations.add('admin');
  if (p.leadAreaIds.includes(app.area_id)) relations.add('lead');
  if (p.memberOrganisationIds.includes(app.organisation_id)) relations.add('applicant');
  if (panel.includes(p.userId)) relations.add('appraiser');
  return relations;
}

/** Loads an application with its view details in one query; 404 out of the caller's scope. */
export async function loadApplicationForView(
  db: DbOrTrx,
  p: Principal | 'system',
  id: string,
): Promise<ApplicationAccess & { details: ApplicationDetails }> {
  const row = await selectApplicationsWithDetails(db).where('applications.id', '=', id).executeTakeFirst();
  if (!row) throw notFound('application');
  const { answers, evidence_counts, panel_people, award_id, ...application } = row;
  const snapshot = reviveApplicationSnapshot(application.snapshot);
  const relations = relationsTo(p, application, snapshot.context.panel);
  if (relations.size === 0) throw notFound('application');
  return {
    application,
    snapshot,
    relations,
    details: { answers, evidenceCounts: evidence_counts, panelPeople: panel_people, awardId: award_id },
  };
}

/**
 * Loads an application the caller may see, or answers 404 (existence is not revealed).
 * `forUpdate` locks the row for the rest of the transaction.
 */
export async function loadApplicationAccess(
  db: DbOrTrx,
  p: Principal | 'system',
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<ApplicationAccess> {
  let q = selectApplications(db).where('applications.id', '=', id);
  if (options.forUpdate) q = q.forUpdate('applications');
  const application = (await q.executeTakeFirst()) as ApplicationRow | undefined;
  if (!application) throw notFound('application');
  const snapshot = reviveApplicationSnapshot(application.snapshot);
  const relations = relationsTo(p, application, snapshot.context.panel);
  if (relations.size === 0) throw notFound('application');
  return { application, snapshot, relations };
}

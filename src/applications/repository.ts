import { type Selectable, sql } from 'kysely';
import {
  type ApplicationSnapshot,
  type EventRole,
  reviveApplicationSnapshot,
} from '../../workflows/index.ts';
import type { DbOrTrx, Trx } from '../db/index.ts';
import type { ApplicationsTable } from '../db/schema.ts';
import { assertRelated, relationsTo } from '../domain/access.ts';
import { notFound } from '../domain/errors.ts';
import type { WorkflowActor } from '../domain/principal.ts';

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

/** Loads an application with its view details in one query; 404 out of the caller's scope. */
export async function loadApplicationForView(
  db: DbOrTrx,
  p: WorkflowActor,
  id: string,
): Promise<ApplicationAccess & { details: ApplicationDetails }> {
  const row = await selectApplicationsWithDetails(db).where('applications.id', '=', id).executeTakeFirst();
  if (!row) throw notFound('application');
  const { answers, evidence_counts, panel_people, award_id, ...application } = row;
  const snapshot = reviveApplicationSnapshot(application.snapshot);
  const relations = relationsTo(p, application, snapshot.context.panel);
  assertRelated(relations, 'application');
  return {
    application,
    snapshot,
    relations,
    details: { answers, evidenceCounts: evidence_counts, panelPeople: panel_people, awardId: award_id },
  };
}

/** Loads an application the caller may see; not-found out of the caller's scope. */
export function loadApplicationAccess(db: DbOrTrx, p: WorkflowActor, id: string): Promise<ApplicationAccess> {
  return accessOf(p, selectApplications(db).where('applications.id', '=', id).executeTakeFirst());
}

/** The same, locking the row for the rest of the transaction. */
export function lockApplicationAccess(trx: Trx, p: WorkflowActor, id: string): Promise<ApplicationAccess> {
  return accessOf(
    p,
    selectApplications(trx).where('applications.id', '=', id).forUpdate('applications').executeTakeFirst(),
  );
}

async function accessOf(
  p: WorkflowActor,
  read: Promise<ApplicationRow | undefined>,
): Promise<ApplicationAccess> {
  const application = await read;
  if (!application) throw notFound('application');
  const snapshot = reviveApplicationSnapshot(application.snapshot);
  const relations = relationsTo(p, application, snapshot.context.panel);
  assertRelated(relations, 'application');
  return { application, snapshot, relations };
}

import type { Selectable } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';
import type { ApplicationsTable } from '../db/schema.ts';
import type { Principal } from '../http/auth.ts';
import { notFound } from '../http/problem.ts';
import { type ApplicationSnapshot, type EventRole, reviveApplicationSnapshot } from '../../workflows/index.ts';

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

/**
 * The caller's relations to an application (SPEC §3): admin everywhere; the lead of its area; the
 * organisation's applicant members; an appraiser while on its panel.
 */
export function relationsTo(p: Principal | 'system', app: { organisation_id: string; area_id: string }, panel: string[]) {
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

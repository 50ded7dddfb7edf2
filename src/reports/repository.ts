import { sql } from 'kysely';
import { APPLICATION_FINAL_STATES, CURRENT_AWARD_STATES } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';

/**
 * All SQL of the dashboards. Every query reads one area's rows or the small set of open applications
 * (partial indexes of migration 0005), so a dashboard stays fast however long the history grows.
 */

/** Applications, and awards, joined to their organisation: every figure is counted by its area. */
const applicationsWithOrganisation = (db: DbOrTrx) =>
  db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id');
const awardsWithOrganisation = (db: DbOrTrx) =>
  db.selectFrom('awards').innerJoin('organisations', 'organisations.id', 'awards.organisation_id');

export async function findArea(db: DbOrTrx, id: string) {
  return db
    .selectFrom('areas')
    .select(['id', 'name', 'nation', 'active'])
    .where('id', '=', id)
    .executeTakeFirst();
}

// ——— one area ———

/** How many applications of the area are in each state and status, by stream. */
export function applicationCounts(db: DbOrTrx, areaId: string) {
  return applicationsWithOrganisation(db)
    .innerJoin('streams', 'streams.id', 'applications.stream_id')
    .select([
      'applications.state',
      'applications.status',
      'streams.slug as stream',
      sql<number>`count(*)::int`.as('count'),
    ])
    .where('organisations.area_id', '=', areaId)
    .groupBy(['applications.state', 'applications.status', 'streams.slug'])
    .orderBy('applications.state')
    .orderBy('streams.slug')
    .execute();
}

/** How many awards of the area are in each state, by stream. */
export function awardCounts(db: DbOrTrx, areaId: string) {
  return awardsWithOrganisation(db)
    .innerJoin('streams', 'streams.id', 'awards.stream_id')
    .select(['awards.state', 'streams.slug as stream', sql<number>`count(*)::int`.as('count')])
    .where('organisations.area_id', '=', areaId)
    .groupBy(['awards.state', 'streams.slug'])
    .orderBy('awards.state')
    .orderBy('streams.slug')
    .execute();
}

/** Open applications of the area in these states, with when they entered that state. */
export function openApplicationsIn(db: DbOrTrx, areaId: string, states: readonly string[]) {
  return (
    applicationsWithOrganisation(db)
      .innerJoin('streams', 'streams.id', 'applications.stream_id')
      .select((eb) => [
        'applications.id',
        'applications.state',
        'applications.organisation_id',
        'organisations.name as organisation_name',
        'streams.slug as stream',
        sql<string[]>`applications.snapshot -> 'context' -> 'panel'`.as('panel'),
        sql<string[]>`applications.snapshot -> 'context' -> 'reviewedBy'`.as('reviewed_by'),
        sql<string | null>`applications.snapshot -> 'context' -> 'decision' ->> 'dueBy'`.as('due_by'),
        sql<string | null>`applications.snapshot -> 'context' -> 'meeting' ->> 'at'`.as('meeting_at'),
        sql<string | null>`applications.snapshot -> 'context' -> 'meeting' ->> 'heldAt'`.as(
          'meeting_held_at',
        ),
        eb
          .selectFrom('application_events as e')
          .select(sql<Date>`max(e.at)`.as('at'))
          .whereRef('e.application_id', '=', 'applications.id')
          .whereRef('e.to_state', '=', 'applications.state')
          .where(sql<boolean>`e.from_state is distinct from e.to_state`)
          .as('entered_at'),
        'applications.updated_at',
      ])
      .where('organisations.area_id', '=', areaId)
      // The area's organisations as an array, so Postgres finds their open applications through the
      // index on organisation_id: joined plainly, it read every open application in the country and
      // hashed them (a tenth of the time, measured on the national data set of bench/reports.ts).
      .where(
        sql<boolean>`applications.organisation_id = any(array(select o.id from organisations o where o.area_id = ${areaId}))`,
      )
      .where('applications.status', 'not in', APPLICATION_FINAL_STATES)
      .where('applications.state', 'in', states)
      .execute()
  );
}

/** Current awards of the area expiring in [from, to), soonest first, with any renewal under way. */
export function currentAwardsExpiring(db: DbOrTrx, areaId: string, from: Date, to: Date) {
  return awardsWithOrganisation(db)
    .innerJoin('streams', 'streams.id', 'awards.stream_id')
    .select([
      'awards.id',
      'awards.state',
      'awards.organisation_id',
      'organisations.name as organisation_name',
      'streams.slug as stream',
      'awards.expires_at',
      sql<string | null>`awards.snapshot -> 'context' -> 'renewal' ->> 'applicationId'`.as(
        'renewal_application_id',
      ),
    ])
    .where('organisations.area_id', '=', areaId)
    .where('awards.state', 'in', CURRENT_AWARD_STATES)
    .where('awards.expires_at', '>=', from)
    .where('awards.expires_at', '<', to)
    .orderBy('awards.expires_at')
    .orderBy('awards.id')
    .execute();
}

/** Organisations of the area that signed the pledge and never applied, earliest pledge first. */
export function pledgedWithoutApplication(db: DbOrTrx, areaId: string) {
  return (
    db
      .selectFrom('organisations')
      .innerJoin('pledges', 'pledges.organisation_id', 'organisations.id')
      .innerJoin('streams', 'streams.id', 'organisations.stream_id')
      .select(['organisations.id', 'organisations.name', 'streams.slug as stream', 'pledges.signed_at'])
      .where('organisations.area_id', '=', areaId)
      // Kept by a trigger on applications (migration 0006): never applied.
      .where('organisations.first_applied_at', 'is', null)
      .orderBy('pledges.signed_at')
      .orderBy('organisations.id')
      .execute()
  );
}

/** The area's latest decisions, newest first. */
export function recentDecisions(db: DbOrTrx, areaId: string, limit: number) {
  return db
    .selectFrom('application_events as e')
    .innerJoin('applications', 'applications.id', 'e.application_id')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .innerJoin('streams', 'streams.id', 'applications.stream_id')
    .select([
      'e.application_id',
      'e.at',
      sql<string>`e.payload ->> 'outcome'`.as('outcome'),
      'applications.organisation_id',
      'organisations.name as organisation_name',
      'streams.slug as stream',
      'applications.round',
    ])
    .where('e.type', '=', 'DECIDE')
    .where('organisations.area_id', '=', areaId)
    .orderBy('e.at', 'desc')
    .orderBy('e.id', 'desc')
    .limit(limit)
    .execute();
}

// ——— every area ———

/** Every area, by name, and whether it has a lead. */
export function areasWithLeads(db: DbOrTrx) {
  return db
    .selectFrom('areas')
    .select((eb) => [
      'areas.id',
      'areas.name',
      'areas.nation',
      'areas.active',
      eb
        .exists(
          eb
            .selectFrom('grants')
            .select('grants.id')
            .where('grants.role', '=', 'lead')
            .whereRef('grants.area_id', '=', 'areas.id'),
        )
        .as('has_lead'),
    ])
    .orderBy('areas.name')
    .execute();
}

/** How many applications are open, per area, status and stream. */
export function openApplicationCountsByArea(db: DbOrTrx) {
  return applicationsWithOrganisation(db)
    .innerJoin('streams', 'streams.id', 'applications.stream_id')
    .select([
      'organisations.area_id',
      'applications.status',
      'streams.slug as stream',
      sql<number>`count(*)::int`.as('count'),
    ])
    .where('applications.status', 'not in', APPLICATION_FINAL_STATES)
    .groupBy(['organisations.area_id', 'applications.status', 'streams.slug'])
    .execute();
}

/** Per area: applications submitted before `submittedBefore` and still waiting to be accepted or returned. */
export function submissionsWaitingByArea(db: DbOrTrx, submittedBefore: Date) {
  return applicationsWithOrganisation(db)
    .select(['organisations.area_id', sql<number>`count(*)::int`.as('count')])
    .where('applications.status', 'not in', APPLICATION_FINAL_STATES)
    .where('applications.state', '=', 'submitted')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('application_events as e')
            .select('e.id')
            .whereRef('e.application_id', '=', 'applications.id')
            .where('e.to_state', '=', 'submitted')
            .where('e.at', '>', submittedBefore),
        ),
      ),
    )
    .groupBy('organisations.area_id')
    .execute();
}

/** Per area: further evidence requested whose deadline passed before `now`. */
export function furtherEvidencePastDueByArea(db: DbOrTrx, now: Date) {
  return applicationsWithOrganisation(db)
    .select(['organisations.area_id', sql<number>`count(*)::int`.as('count')])
    .where('applications.status', 'not in', APPLICATION_FINAL_STATES)
    .where('applications.state', '=', 'furtherEvidenceRequested')
    .where(sql<boolean>`(applications.snapshot -> 'context' -> 'decision' ->> 'dueBy')::timestamptz < ${now}`)
    .groupBy('organisations.area_id')
    .execute();
}

/** Per area and stream: current awards, and how many of them expire in [from, to). */
export function currentAwardCountsByArea(db: DbOrTrx, from: Date, to: Date) {
  return awardsWithOrganisation(db)
    .innerJoin('streams', 'streams.id', 'awards.stream_id')
    .select([
      'organisations.area_id',
      'streams.slug as stream',
      sql<number>`count(*)::int`.as('current'),
      sql<number>`(count(*) filter (where awards.expires_at >= ${from} and awards.expires_at < ${to}))::int`.as(
        'expiring',
      ),
    ])
    .where('awards.state', 'in', CURRENT_AWARD_STATES)
    .groupBy(['organisations.area_id', 'streams.slug'])
    .execute();
}

/** Per area: organisations that signed the pledge and never applied. */
export function pledgedWithoutApplicationByArea(db: DbOrTrx) {
  return (
    db
      .selectFrom('organisations')
      .innerJoin('pledges', 'pledges.organisation_id', 'organisations.id')
      .select(['organisations.area_id', sql<number>`count(*)::int`.as('count')])
      // Kept by a trigger on applications (migration 0006): never applied.
      .where('organisations.first_applied_at', 'is', null)
      .groupBy('organisations.area_id')
      .execute()
  );
}

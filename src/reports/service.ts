import { sql } from 'kysely';
import {
  APPLICATION_FINAL_STATES,
  CURRENT_AWARD_STATES,
  isCurrentAwardState,
} from '../../workflows/index.ts';
import type { Db } from '../db/index.ts';
import { assertAdmin } from '../domain/access.ts';
import { forbidden, notFound } from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import type { Principal } from '../domain/principal.ts';

/**
 * What a local lead (or an admin) needs to act on today, for one area, and the national summary
 * across areas for admins. Every figure is computed from the workflow's own columns and snapshot, so
 * it is exactly what the applications say; every query reads one area's rows or the small set of open
 * applications (partial indexes of migration 0005), so a dashboard stays fast however long the
 * history grows.
 */

/** A submission waiting longer than this for ACCEPT or RETURN is overdue. */
export const ACCEPT_WITHIN_DAYS = 14;
/** Awards expiring within this many days are listed. */
export const EXPIRING_WITHIN_DAYS = 90;
/** Lists on the dashboard show this many entries at most; `count` says how many there are. */
const LIST_CAP = 100;
const RECENT_DECISIONS = 20;

const DAY_MS = 86_400_000;
const ATTENTION_STATES = ['submitted', 'appraisal.reviewing', 'furtherEvidenceRequested', 'meeting'];

const daysBetween = (from: Date | string, to: Date) =>
  Math.floor((to.getTime() - new Date(from).getTime()) / DAY_MS);
const capped = <T>(items: T[]) => ({ count: items.length, items: items.slice(0, LIST_CAP) });

/** The dashboard of one area: 404 for a lead of another area (SPEC §3), 403 for roles that have none. */
export async function areaDashboard(db: Db, p: Principal, areaId: string, now = new Date()) {
  if (!p.isAdmin && p.leadAreaIds.length === 0) throw forbidden('Dashboards are for local leads and admins');
  const area = await db
    .selectFrom('areas')
    .select(['id', 'name', 'nation', 'active'])
    .where('id', '=', areaId)
    .executeTakeFirst();
  if (!area || !(p.isAdmin || p.leadAreaIds.includes(area.id))) throw notFound('area');

  const [applicationCounts, awardCounts, open, expiring, pledged, decisions] = await Promise.all([
    db
      .selectFrom('applications')
      .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
      .innerJoin('streams', 'streams.id', 'applications.stream_id')
      .select([
        'applications.state',
        'applications.status',
        'streams.slug as stream',
        sql<number>`count(*)::int`.as('count'),
      ])
      .where('organisations.area_id', '=', area.id)
      .groupBy(['applications.state', 'applications.status', 'streams.slug'])
      .orderBy('applications.state')
      .orderBy('streams.slug')
      .execute(),
    db
      .selectFrom('awards')
      .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
      .innerJoin('streams', 'streams.id', 'awards.stream_id')
      .select(['awards.state', 'streams.slug as stream', sql<number>`count(*)::int`.as('count')])
      .where('organisations.area_id', '=', area.id)
      .groupBy(['awards.state', 'streams.slug'])
      .orderBy('awards.state')
      .orderBy('streams.slug')
      .execute(),
    // Open applications in the states that can fall behind, with when they entered that state.
    db
      .selectFrom('applications')
      .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
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
      .where('organisations.area_id', '=', area.id)
      .where('applications.status', 'not in', APPLICATION_FINAL_STATES)
      .where('applications.state', 'in', ATTENTION_STATES)
      .execute(),
    db
      .selectFrom('awards')
      .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
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
      .where('organisations.area_id', '=', area.id)
      .where('awards.state', 'in', CURRENT_AWARD_STATES)
      .where('awards.expires_at', '>=', now)
      .where('awards.expires_at', '<', new Date(now.getTime() + EXPIRING_WITHIN_DAYS * DAY_MS))
      .orderBy('awards.expires_at')
      .orderBy('awards.id')
      .execute(),
    db
      .selectFrom('organisations')
      .innerJoin('pledges', 'pledges.organisation_id', 'organisations.id')
      .innerJoin('streams', 'streams.id', 'organisations.stream_id')
      .select(['organisations.id', 'organisations.name', 'streams.slug as stream', 'pledges.signed_at'])
      .where('organisations.area_id', '=', area.id)
      // Kept by a trigger on applications (migration 0006): never applied.
      .where('organisations.first_applied_at', 'is', null)
      .orderBy('pledges.signed_at')
      .orderBy('organisations.id')
      .execute(),
    db
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
      .where('organisations.area_id', '=', area.id)
      .orderBy('e.at', 'desc')
      .orderBy('e.id', 'desc')
      .limit(RECENT_DECISIONS)
      .execute(),
  ]);

  const ref = (r: { id: string; organisation_id: string; organisation_name: string; stream: string }) => ({
    applicationId: r.id,
    organisationId: r.organisation_id,
    organisationName: r.organisation_name,
    stream: r.stream,
  });
  const since = (r: { entered_at: Date | string | null; updated_at: Date | string }) =>
    r.entered_at ?? r.updated_at;
  const oldestFirst = <T extends { since: string }>(items: T[]) =>
    items.sort((a, b) => a.since.localeCompare(b.since));

  const submissionsNotAccepted = oldestFirst(
    open
      .filter((r) => r.state === 'submitted' && daysBetween(since(r), now) >= ACCEPT_WITHIN_DAYS)
      .map((r) => ({ ...ref(r), since: iso(since(r)), days: daysBetween(since(r), now) })),
  );
  const reviewsOutstanding = oldestFirst(
    open
      .filter((r) => r.state === 'appraisal.reviewing')
      .map((r) => {
        const reviewed = new Set(r.reviewed_by ?? []);
        const outstanding = (r.panel ?? []).filter((id) => !reviewed.has(id)).length;
        return {
          ...ref(r),
          since: iso(since(r)),
          days: daysBetween(since(r), now),
          panelSize: (r.panel ?? []).length,
          outstanding,
        };
      })
      .filter((r) => r.outstanding > 0),
  );
  const furtherEvidencePastDue = open
    .filter((r) => r.state === 'furtherEvidenceRequested' && r.due_by && new Date(r.due_by) < now)
    .map((r) => ({
      ...ref(r),
      dueBy: iso(r.due_by as string),
      daysOverdue: daysBetween(r.due_by as string, now),
    }))
    .sort((a, b) => a.dueBy.localeCompare(b.dueBy));
  // A meeting held but not recorded, or never scheduled two weeks after the organisation answered.
  const meetingsNotRecorded = open
    .filter(
      (r) =>
        r.state === 'meeting' &&
        !r.meeting_held_at &&
        (r.meeting_at ? new Date(r.meeting_at) < now : daysBetween(since(r), now) >= ACCEPT_WITHIN_DAYS),
    )
    .map((r) => ({
      ...ref(r),
      meetingAt: r.meeting_at ? iso(r.meeting_at) : null,
      since: iso(r.meeting_at ?? since(r)),
      days: daysBetween(r.meeting_at ?? since(r), now),
    }))
    .sort((a, b) => a.since.localeCompare(b.since));

  const byStatus: Record<string, number> = {};
  for (const c of applicationCounts) byStatus[c.status] = (byStatus[c.status] ?? 0) + Number(c.count);

  return {
    area: { id: area.id, name: area.name, nation: area.nation, active: area.active },
    generatedAt: now.toISOString(),
    thresholds: { acceptWithinDays: ACCEPT_WITHIN_DAYS, expiringWithinDays: EXPIRING_WITHIN_DAYS },
    applications: {
      total: applicationCounts.reduce((n, c) => n + Number(c.count), 0),
      open: applicationCounts
        .filter((c) => !(APPLICATION_FINAL_STATES as readonly string[]).includes(c.status))
        .reduce((n, c) => n + Number(c.count), 0),
      byStatus,
      byStateAndStream: applicationCounts.map((c) => ({
        state: c.state,
        stream: c.stream,
        count: Number(c.count),
      })),
    },
    awards: {
      current: awardCounts
        .filter((c) => isCurrentAwardState(c.state))
        .reduce((n, c) => n + Number(c.count), 0),
      byStateAndStream: awardCounts.map((c) => ({
        state: c.state,
        stream: c.stream,
        count: Number(c.count),
      })),
    },
    overdue: {
      submissionsNotAccepted: capped(submissionsNotAccepted),
      reviewsOutstanding: capped(reviewsOutstanding),
      furtherEvidencePastDue: capped(furtherEvidencePastDue),
      meetingsNotRecorded: capped(meetingsNotRecorded),
    },
    expiringAwards: capped(
      expiring.map((a) => ({
        awardId: a.id,
        organisationId: a.organisation_id,
        organisationName: a.organisation_name,
        stream: a.stream,
        state: a.state,
        expiresAt: iso(a.expires_at),
        daysLeft: Math.max(0, Math.ceil((new Date(a.expires_at).getTime() - now.getTime()) / DAY_MS)),
        renewalApplicationId: a.renewal_application_id,
      })),
    ),
    pledgedWithoutApplication: capped(
      pledged.map((o) => ({
        organisationId: o.id,
        organisationName: o.name,
        stream: o.stream,
        pledgedAt: iso(o.signed_at),
      })),
    ),
    recentDecisions: decisions.map((d) => ({
      applicationId: d.application_id,
      organisationId: d.organisation_id,
      organisationName: d.organisation_name,
      stream: d.stream,
      outcome: d.outcome,
      decidedAt: iso(d.at),
    })),
  };
}

/** Admins: one line per area (open work, overdue counts, current and expiring awards) and totals by stream. */
export async function nationalSummary(db: Db, p: Principal, now = new Date()) {
  assertAdmin(p);
  const acceptBy = new Date(now.getTime() - ACCEPT_WITHIN_DAYS * DAY_MS);
  const expiringBy = new Date(now.getTime() + EXPIRING_WITHIN_DAYS * DAY_MS);
  const [areas, open, submittedLate, pastDue, awards, pledged] = await Promise.all([
    db
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
      .execute(),
    db
      .selectFrom('applications')
      .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
      .innerJoin('streams', 'streams.id', 'applications.stream_id')
      .select([
        'organisations.area_id',
        'applications.status',
        'streams.slug as stream',
        sql<number>`count(*)::int`.as('count'),
      ])
      .where('applications.status', 'not in', APPLICATION_FINAL_STATES)
      .groupBy(['organisations.area_id', 'applications.status', 'streams.slug'])
      .execute(),
    db
      .selectFrom('applications')
      .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
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
              .where('e.at', '>', acceptBy),
          ),
        ),
      )
      .groupBy('organisations.area_id')
      .execute(),
    db
      .selectFrom('applications')
      .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
      .select(['organisations.area_id', sql<number>`count(*)::int`.as('count')])
      .where('applications.status', 'not in', APPLICATION_FINAL_STATES)
      .where('applications.state', '=', 'furtherEvidenceRequested')
      .where(
        sql<boolean>`(applications.snapshot -> 'context' -> 'decision' ->> 'dueBy')::timestamptz < ${now}`,
      )
      .groupBy('organisations.area_id')
      .execute(),
    db
      .selectFrom('awards')
      .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
      .innerJoin('streams', 'streams.id', 'awards.stream_id')
      .select([
        'organisations.area_id',
        'streams.slug as stream',
        sql<number>`count(*)::int`.as('current'),
        sql<number>`(count(*) filter (where awards.expires_at >= ${now} and awards.expires_at < ${expiringBy}))::int`.as(
          'expiring',
        ),
      ])
      .where('awards.state', 'in', CURRENT_AWARD_STATES)
      .groupBy(['organisations.area_id', 'streams.slug'])
      .execute(),
    db
      .selectFrom('organisations')
      .innerJoin('pledges', 'pledges.organisation_id', 'organisations.id')
      .select(['organisations.area_id', sql<number>`count(*)::int`.as('count')])
      // Kept by a trigger on applications (migration 0006): never applied.
      .where('organisations.first_applied_at', 'is', null)
      .groupBy('organisations.area_id')
      .execute(),
  ]);

  const countBy = (rows: { area_id: string; count: number }[]) =>
    new Map(rows.map((r) => [r.area_id, Number(r.count)]));
  const late = countBy(submittedLate);
  const due = countBy(pastDue);
  const pledgedOnly = countBy(pledged);
  const streams: Record<string, { openApplications: number; currentAwards: number; expiringAwards: number }> =
    {};
  const stream = (slug: string) =>
    (streams[slug] ??= { openApplications: 0, currentAwards: 0, expiringAwards: 0 });
  const rows = areas.map((a) => {
    const byStatus: Record<string, number> = {};
    let openApplications = 0;
    for (const r of open.filter((o) => o.area_id === a.id)) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + Number(r.count);
      openApplications += Number(r.count);
      stream(r.stream).openApplications += Number(r.count);
    }
    let currentAwards = 0;
    let expiringAwards = 0;
    for (const r of awards.filter((w) => w.area_id === a.id)) {
      currentAwards += Number(r.current);
      expiringAwards += Number(r.expiring);
      stream(r.stream).currentAwards += Number(r.current);
      stream(r.stream).expiringAwards += Number(r.expiring);
    }
    return {
      areaId: a.id,
      name: a.name,
      nation: a.nation,
      active: a.active,
      hasLead: Boolean(a.has_lead),
      openApplications,
      byStatus,
      submissionsNotAccepted: late.get(a.id) ?? 0,
      furtherEvidencePastDue: due.get(a.id) ?? 0,
      currentAwards,
      expiringAwards,
      pledgedWithoutApplication: pledgedOnly.get(a.id) ?? 0,
    };
  });
  const sum = (
    key:
      | 'openApplications'
      | 'submissionsNotAccepted'
      | 'furtherEvidencePastDue'
      | 'currentAwards'
      | 'expiringAwards'
      | 'pledgedWithoutApplication',
  ) => rows.reduce((n, r) => n + r[key], 0);
  return {
    generatedAt: now.toISOString(),
    thresholds: { acceptWithinDays: ACCEPT_WITHIN_DAYS, expiringWithinDays: EXPIRING_WITHIN_DAYS },
    totals: {
      areas: rows.length,
      areasWithoutLead: rows.filter((r) => !r.hasLead).length,
      openApplications: sum('openApplications'),
      submissionsNotAccepted: sum('submissionsNotAccepted'),
      furtherEvidencePastDue: sum('furtherEvidencePastDue'),
      currentAwards: sum('currentAwards'),
      expiringAwards: sum('expiringAwards'),
      pledgedWithoutApplication: sum('pledgedWithoutApplication'),
    },
    byStream: Object.entries(streams)
      .map(([slug, v]) => ({ stream: slug, ...v }))
      .sort((a, b) => a.stream.localeCompare(b.stream)),
    areas: rows,
  };
}

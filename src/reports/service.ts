import { APPLICATION_FINAL_STATES, isCurrentAwardState } from '../../workflows/index.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { assertAdmin, assertLeadOrAdmin, managesArea } from '../domain/access.ts';
import { notFound } from '../domain/errors.ts';
import { DAY_MS, iso } from '../domain/iso.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';

/**
 * What a local lead (or an admin) needs to act on today, for one area, and the national summary
 * across areas for admins. Every figure is computed from the workflow's own columns and snapshot, so
 * it is exactly what the applications say.
 */

/** Awards expiring within this many days are listed. */
export const EXPIRING_WITHIN_DAYS = 90;
/** A meeting not scheduled this many days after the organisation answered is overdue. */
export const SCHEDULE_MEETING_WITHIN_DAYS = 14;
/** Lists on the dashboard show this many entries at most; `count` says how many there are. */
export const LIST_CAP = 100;
const RECENT_DECISIONS = 20;

const ATTENTION_STATES = ['submitted', 'appraisal.reviewing', 'furtherEvidenceRequested', 'meeting'];

/** The settings the dashboards share with the reminders (src/jobs/reminders.ts). */
export type ReportSettings = { reminders: Pick<Config['reminders'], 'submissionDays'> };

/**
 * The dashboards' thresholds. A submission is overdue when its reminder is due: both read
 * REMINDER_SUBMISSION_DAYS, so the dashboard and the reminder never disagree.
 */
const thresholdsOf = (settings: ReportSettings) => ({
  acceptWithinDays: settings.reminders.submissionDays,
  expiringWithinDays: EXPIRING_WITHIN_DAYS,
});

const daysBetween = (from: Date | string, to: Date) =>
  Math.floor((to.getTime() - new Date(from).getTime()) / DAY_MS);
const capped = <T>(items: T[]) => ({ count: items.length, items: items.slice(0, LIST_CAP) });

/** The dashboard of one area: 404 for a lead of another area (SPEC §3), 403 for roles that have none. */
export async function areaDashboard(
  db: Db,
  p: Principal,
  areaId: string,
  settings: ReportSettings,
  now = new Date(),
) {
  assertLeadOrAdmin(p, 'Dashboards are for local leads and admins');
  const area = await repo.findArea(db, areaId);
  if (!area || !managesArea(p, area.id)) throw notFound('area');
  const thresholds = thresholdsOf(settings);

  const [applicationCounts, awardCounts, open, expiring, pledged, decisions] = await Promise.all([
    repo.applicationCounts(db, area.id),
    repo.awardCounts(db, area.id),
    // Open applications in the states that can fall behind.
    repo.openApplicationsIn(db, area.id, ATTENTION_STATES),
    repo.currentAwardsExpiring(
      db,
      area.id,
      now,
      new Date(now.getTime() + thresholds.expiringWithinDays * DAY_MS),
    ),
    repo.pledgedWithoutApplication(db, area.id),
    repo.recentDecisions(db, area.id, RECENT_DECISIONS),
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
      .filter((r) => r.state === 'submitted' && daysBetween(since(r), now) >= thresholds.acceptWithinDays)
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
        (r.meeting_at
          ? new Date(r.meeting_at) < now
          : daysBetween(since(r), now) >= SCHEDULE_MEETING_WITHIN_DAYS),
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
    thresholds,
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
export async function nationalSummary(db: Db, p: Principal, settings: ReportSettings, now = new Date()) {
  assertAdmin(p);
  const thresholds = thresholdsOf(settings);
  const acceptBy = new Date(now.getTime() - thresholds.acceptWithinDays * DAY_MS);
  const expiringBy = new Date(now.getTime() + thresholds.expiringWithinDays * DAY_MS);
  const [areas, open, submittedLate, pastDue, awards, pledged] = await Promise.all([
    repo.areasWithLeads(db),
    repo.openApplicationCountsByArea(db),
    repo.submissionsWaitingByArea(db, acceptBy),
    repo.furtherEvidencePastDueByArea(db, now),
    repo.currentAwardCountsByArea(db, now, expiringBy),
    repo.pledgedWithoutApplicationByArea(db),
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
    thresholds,
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

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../../config.ts';
import type { Db } from '../../../db/index.ts';
import { notFound } from '../../../domain/errors.ts';
import { DAY_MS } from '../../../domain/iso.ts';
import { areaDashboard, nationalSummary } from '../../../reports/service.ts';
import type { Pages } from '../../pages.ts';
import {
  APPLICATION_STATES,
  areasOf,
  awardStateText,
  escapeHtml,
  leadOf,
  queryOf,
  stateText,
  streamsOf,
} from './shared.ts';

const dashboardQuery = z.object({ area: z.uuid().optional() });

/**
 * The lead's dashboard (SPEC §5, §9): the area's figures from the same service as
 * GET /areas/{id}/dashboard, every count a link to the list it counts and every overdue item a link
 * to its application. A lead of several areas chooses one; an admin without a chosen area sees the
 * national summary of GET /dashboard, each area a link to its own dashboard.
 */
/**
 * Items a dashboard's list shows (the oldest first); the rest are one link away, in the filtered list.
 * A page of hundreds of rows is slow to read and to render (SPEC §8: p95 ≤ 50 ms).
 */
const SHOWN = 10;

export async function leadDashboardRoutes(
  app: FastifyInstance,
  { db, config, pages }: { db: Db; config: Config; pages: Pages },
) {
  app.get('/lead', async (request, reply) => {
    const { p, t, date } = leadOf(request);
    const parsed = dashboardQuery.safeParse(request.query);
    // An area that is not an id names no area: the page-not-found page, as for one out of scope.
    if (!parsed.success) throw notFound('area');
    const chosen = parsed.data.area;
    const areas = await areasOf(db, p);

    if (!chosen && p.isAdmin) {
      const summary = await nationalSummary(db, p, config);
      const list = (areaId: string, path: string, extra: Record<string, string> = {}) =>
        `${path}${queryOf({ areaId, ...extra })}`;
      return pages.send(request, reply, 'lead/national', {
        title: t('lead.national.title'),
        totals: [
          { key: { text: t('lead.national.areas') }, value: { text: String(summary.totals.areas) } },
          {
            key: { text: t('lead.national.areasWithoutLead') },
            value: { text: String(summary.totals.areasWithoutLead) },
          },
          {
            key: { text: t('lead.national.open') },
            value: countCell(summary.totals.openApplications, '/lead/applications'),
          },
          {
            key: { text: t('lead.national.current') },
            value: countCell(summary.totals.currentAwards, '/lead/awards?current=true'),
          },
        ],
        rows: summary.areas.map((a) => [
          { html: link(`/lead${queryOf({ area: a.areaId })}`, a.name) },
          { text: a.hasLead ? t('lead.national.yes') : t('lead.national.no') },
          countCell(a.openApplications, list(a.areaId, '/lead/applications')),
          countCell(a.submissionsNotAccepted, list(a.areaId, '/lead/applications', { state: 'submitted' })),
          countCell(
            a.furtherEvidencePastDue,
            list(a.areaId, '/lead/applications', { state: 'furtherEvidenceRequested' }),
          ),
          countCell(a.currentAwards, list(a.areaId, '/lead/awards', { current: 'true' })),
          countCell(a.pledgedWithoutApplication, list(a.areaId, '/lead/organisations', { pledged: 'true' })),
        ]),
      });
    }
    if (!chosen && areas.length > 1) {
      return pages.send(request, reply, 'lead/choose-area', {
        title: t('lead.chooseArea.title'),
        areas: areas.map((a) => ({ name: a.name, href: `/lead${queryOf({ area: a.id })}` })),
      });
    }
    const areaId = chosen ?? areas[0]?.id;
    // A lead always has an area; an admin reaches here only with one chosen.
    const [d, streams] = await Promise.all([areaDashboard(db, p, areaId as string, config), streamsOf(db)]);
    const streamName = (slug: string) => streams.bySlug.get(slug)?.name ?? slug;
    const inArea = (path: string, extra: Record<string, string> = {}) =>
      `${path}${queryOf({ areaId: d.area.id, ...extra })}`;
    const applicationHref = (id: string) => `/lead/applications/${id}`;
    const expiringBefore = new Date(
      new Date(d.generatedAt).getTime() + d.thresholds.expiringWithinDays * DAY_MS,
    ).toISOString();

    const statusRows = Object.entries(d.applications.byStatus)
      .sort(([a], [b]) => statusOrder(a) - statusOrder(b))
      .map(([status, count]) => ({
        key: { text: stateText(t, status) },
        // A status without stages is also a state, which the list's form shows as chosen.
        value: countCell(
          count,
          inArea('/lead/applications', status === 'appraisal' ? { status } : { state: status }),
        ),
      }));

    const overdue = [
      {
        id: 'submissions',
        heading: t('lead.dashboard.overdue.submissions', { days: d.thresholds.acceptWithinDays }),
        count: d.overdue.submissionsNotAccepted.count,
        listHref: inArea('/lead/applications', { state: 'submitted', ...LONGEST_WAITING }),
        items: d.overdue.submissionsNotAccepted.items.slice(0, SHOWN).map((i) => ({
          href: applicationHref(i.applicationId),
          name: i.organisationName,
          detail: t('lead.dashboard.overdue.waitingDays', { count: i.days }),
        })),
      },
      {
        id: 'reviews',
        heading: t('lead.dashboard.overdue.reviews'),
        count: d.overdue.reviewsOutstanding.count,
        listHref: inArea('/lead/applications', { state: 'appraisal.reviewing', ...LONGEST_WAITING }),
        items: d.overdue.reviewsOutstanding.items.slice(0, SHOWN).map((i) => ({
          href: applicationHref(i.applicationId),
          name: i.organisationName,
          detail: t('lead.dashboard.overdue.reviewsLeft', {
            count: i.outstanding,
            panel: i.panelSize,
            days: i.days,
          }),
        })),
      },
      {
        id: 'evidence',
        heading: t('lead.dashboard.overdue.evidence'),
        count: d.overdue.furtherEvidencePastDue.count,
        listHref: inArea('/lead/applications', { state: 'furtherEvidenceRequested', ...LONGEST_WAITING }),
        items: d.overdue.furtherEvidencePastDue.items.slice(0, SHOWN).map((i) => ({
          href: applicationHref(i.applicationId),
          name: i.organisationName,
          detail: t('lead.dashboard.overdue.dueOn', { date: date(i.dueBy) }),
        })),
      },
      {
        id: 'meetings',
        heading: t('lead.dashboard.overdue.meetings'),
        count: d.overdue.meetingsNotRecorded.count,
        listHref: inArea('/lead/applications', { state: 'meeting', ...LONGEST_WAITING }),
        items: d.overdue.meetingsNotRecorded.items.slice(0, SHOWN).map((i) => ({
          href: applicationHref(i.applicationId),
          name: i.organisationName,
          detail: i.meetingAt
            ? t('lead.dashboard.overdue.meetingWas', { date: date(i.meetingAt) })
            : t('lead.dashboard.overdue.meetingNone', { count: i.days }),
        })),
      },
    ];

    return pages.send(request, reply, 'lead/dashboard', {
      title: d.area.name,
      d,
      otherAreas:
        areas.length > 1
          ? areas
              .filter((a) => a.id !== d.area.id)
              .map((a) => ({ name: a.name, href: `/lead${queryOf({ area: a.id })}` }))
          : [],
      backToNational: p.isAdmin,
      totals: [
        {
          key: { text: t('lead.dashboard.totals.open') },
          value: countCell(d.applications.open, inArea('/lead/applications')),
        },
        {
          key: { text: t('lead.dashboard.totals.current') },
          value: countCell(d.awards.current, inArea('/lead/awards', { current: 'true' })),
        },
        {
          key: { text: t('lead.dashboard.totals.expiring', { days: d.thresholds.expiringWithinDays }) },
          value: countCell(
            d.expiringAwards.count,
            inArea('/lead/awards', { current: 'true', expiringBefore }),
          ),
        },
        {
          key: { text: t('lead.dashboard.totals.pledged') },
          value: countCell(
            d.pledgedWithoutApplication.count,
            inArea('/lead/organisations', { pledged: 'true' }),
          ),
        },
      ],
      statusRows,
      overdue,
      expiringHref: inArea('/lead/awards', { current: 'true', expiringBefore }),
      pledgedHref: inArea('/lead/organisations', { pledged: 'true' }),
      shown: SHOWN,
      byStateAndStream: d.applications.byStateAndStream
        .slice()
        .sort((a, b) => statusOrder(a.state) - statusOrder(b.state) || a.stream.localeCompare(b.stream))
        .map((r) => [
          { text: stateText(t, r.state) },
          { text: streamName(r.stream) },
          countCell(r.count, inArea('/lead/applications', { state: r.state, stream: r.stream })),
        ]),
      awardsByStateAndStream: d.awards.byStateAndStream.map((r) => [
        { text: awardStateText(t, r.state) },
        { text: streamName(r.stream) },
        countCell(r.count, inArea('/lead/awards', { state: r.state, stream: r.stream })),
      ]),
      expiring: d.expiringAwards.items.slice(0, SHOWN).map((a) => [
        { html: link(`/lead/organisations/${a.organisationId}`, a.organisationName) },
        { text: streamName(a.stream) },
        { text: date(a.expiresAt) },
        {
          html: a.renewalApplicationId
            ? link(applicationHref(a.renewalApplicationId), t('lead.dashboard.expiring.renewalStarted'))
            : escapeHtml(t('lead.dashboard.expiring.noRenewal')),
        },
      ]),
      pledged: d.pledgedWithoutApplication.items
        .slice(0, SHOWN)
        .map((o) => [
          { html: link(`/lead/organisations/${o.organisationId}`, o.organisationName) },
          { text: streamName(o.stream) },
          { text: date(o.pledgedAt) },
        ]),
      decisions: d.recentDecisions.map((r) => [
        { html: link(applicationHref(r.applicationId), r.organisationName) },
        { text: streamName(r.stream) },
        { text: t(`lead.outcome.${r.outcome}`) },
        { text: date(r.decidedAt) },
      ]),
    });
  });
}

/** An overdue count opens its state's list with those waiting longest first (no list filter says "overdue"). */
const LONGEST_WAITING = { sort: 'updatedAt' };

const statusOrder = (state: string) => {
  const index = (APPLICATION_STATES as readonly string[]).findIndex(
    (s) => s === state || s.startsWith(`${state}.`),
  );
  return index === -1 ? APPLICATION_STATES.length : index;
};

const link = (href: string, text: string) =>
  `<a class="govuk-link" href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;
/** A count in a table: a link to the rows it counts (a zero needs no link). */
const countCell = (count: number, href: string) =>
  count > 0 ? { html: link(href, String(count)), format: 'numeric' } : { text: '0', format: 'numeric' };

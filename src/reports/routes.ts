import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type Config, DEFAULT_SUBMISSION_REMINDER_DAYS } from '../config.ts';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import {
  areaDashboard,
  EXPIRING_WITHIN_DAYS,
  LIST_CAP,
  nationalSummary,
  SCHEDULE_MEETING_WITHIN_DAYS,
} from './service.ts';

const count = z.number().int();
const listOf = <T extends z.ZodType>(item: T) =>
  z.object({
    count: count.describe(`How many there are; items shows the first ${LIST_CAP}`),
    items: z.array(item),
  });
const applicationRef = {
  applicationId: z.uuid(),
  organisationId: z.uuid(),
  organisationName: z.string(),
  stream: z.string().describe('Stream slug'),
};
const thresholds = z.object({ acceptWithinDays: count, expiringWithinDays: count });

export const areaDashboardView = z
  .object({
    area: z.object({ id: z.uuid(), name: z.string(), nation: z.string(), active: z.boolean() }),
    generatedAt: z.string(),
    thresholds,
    applications: z.object({
      total: count,
      open: count,
      byStatus: z.record(z.string(), count),
      byStateAndStream: z.array(z.object({ state: z.string(), stream: z.string(), count })),
    }),
    awards: z.object({
      current: count,
      byStateAndStream: z.array(z.object({ state: z.string(), stream: z.string(), count })),
    }),
    overdue: z.object({
      submissionsNotAccepted: listOf(z.object({ ...applicationRef, since: z.string(), days: count }))
        // The documented default; `thresholds.acceptWithinDays` gives the setting in force.
        .describe(
          `Submitted and neither accepted nor returned for ${DEFAULT_SUBMISSION_REMINDER_DAYS} days or more, oldest first`,
        ),
      reviewsOutstanding: listOf(
        z.object({ ...applicationRef, since: z.string(), days: count, panelSize: count, outstanding: count }),
      ).describe('Under review with panel members yet to review, longest waiting first'),
      furtherEvidencePastDue: listOf(
        z.object({ ...applicationRef, dueBy: z.string(), daysOverdue: count }),
      ).describe('Further evidence requested and its deadline passed (before the lapse timer fires)'),
      meetingsNotRecorded: listOf(
        z.object({ ...applicationRef, meetingAt: z.string().nullable(), since: z.string(), days: count }),
      ).describe(
        `A scheduled meeting whose time has passed and is not recorded, or none scheduled ${SCHEDULE_MEETING_WITHIN_DAYS} days after the answers`,
      ),
    }),
    expiringAwards: listOf(
      z.object({
        awardId: z.uuid(),
        organisationId: z.uuid(),
        organisationName: z.string(),
        stream: z.string(),
        state: z.string(),
        expiresAt: z.string(),
        daysLeft: count,
        renewalApplicationId: z.string().nullable(),
      }),
    ).describe(`Current awards expiring in the next ${EXPIRING_WITHIN_DAYS} days, soonest first`),
    pledgedWithoutApplication: listOf(
      z.object({
        organisationId: z.uuid(),
        organisationName: z.string(),
        stream: z.string(),
        pledgedAt: z.string(),
      }),
    ).describe('Organisations that signed the pledge and have never opened an application'),
    recentDecisions: z.array(z.object({ ...applicationRef, outcome: z.string(), decidedAt: z.string() })),
  })
  .meta({ id: 'AreaDashboard' });

export const nationalSummaryView = z
  .object({
    generatedAt: z.string(),
    thresholds,
    totals: z.object({
      areas: count,
      areasWithoutLead: count,
      openApplications: count,
      submissionsNotAccepted: count,
      furtherEvidencePastDue: count,
      currentAwards: count,
      expiringAwards: count,
      pledgedWithoutApplication: count,
    }),
    byStream: z.array(
      z.object({ stream: z.string(), openApplications: count, currentAwards: count, expiringAwards: count }),
    ),
    areas: z.array(
      z.object({
        areaId: z.uuid(),
        name: z.string(),
        nation: z.string(),
        active: z.boolean(),
        hasLead: z.boolean(),
        openApplications: count,
        byStatus: z.record(z.string(), count),
        submissionsNotAccepted: count,
        furtherEvidencePastDue: count,
        currentAwards: count,
        expiringAwards: count,
        pledgedWithoutApplication: count,
      }),
    ),
  })
  .meta({ id: 'NationalSummary' });

export const reportRoutes: FastifyPluginAsyncZod<{ db: Db; config: Pick<Config, 'reminders'> }> = async (
  app,
  { db, config },
) => {
  app.get(
    '/areas/:id/dashboard',
    {
      schema: {
        operationId: 'getAreaDashboard',
        tags: ['reports'],
        summary: 'What needs attention in one area today (the area’s lead, admins)',
        description:
          `Counts by state and stream; overdue work; awards expiring in the next ${EXPIRING_WITHIN_DAYS} days; pledged organisations ` +
          'with no application; recent decisions. 404 for a lead of another area, 403 for appraisers and applicants.',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: areaDashboardView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => areaDashboard(db, caller(request), request.params.id, config),
  );

  app.get(
    '/dashboard',
    {
      schema: {
        operationId: 'getNationalSummary',
        tags: ['reports'],
        summary: 'National summary across areas (admins)',
        response: { 200: nationalSummaryView, ...problemResponses(401, 403) },
      },
    },
    async (request) => nationalSummary(db, caller(request), config),
  );
};

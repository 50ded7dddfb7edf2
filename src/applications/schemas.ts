import { z } from 'zod';
import { organisationNameQuery, sortQuery } from '../http/pagination.ts';
import { APPLICATION_SORT_KEYS } from './repository.ts';

const text = (max: number) => z.string().max(max);
const code = z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/, 'a criterion code such as L1');
const instant = z.iso.datetime({ offset: true });

/** The events a client may send (SPEC §4), one strict shape per type. */
export const applicationEventBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('SUBMIT') }),
  z.strictObject({ type: z.literal('ACCEPT') }),
  z.strictObject({ type: z.literal('RETURN'), reason: text(5000) }),
  z.strictObject({ type: z.literal('ASSIGN_APPRAISER'), userId: z.uuid() }),
  z.strictObject({ type: z.literal('UNASSIGN_APPRAISER'), userId: z.uuid() }),
  z.strictObject({ type: z.literal('START_REVIEW') }),
  z.strictObject({
    type: z.literal('SUBMIT_REVIEW'),
    criteria: z.record(
      code,
      z.strictObject({ judgement: z.enum(['met', 'not_yet']), comment: text(10_000) }),
    ),
    summary: text(20_000),
  }),
  z.strictObject({ type: z.literal('DECLARE_CONFLICT'), reason: text(5000) }),
  z.strictObject({
    type: z.literal('SEND_FEEDBACK'),
    criteria: z.record(
      code,
      z.strictObject({ judgement: z.enum(['met', 'further_evidence']), feedback: text(10_000) }),
    ),
    questions: z.array(text(5000)).max(50),
  }),
  z.strictObject({ type: z.literal('RESPOND'), answers: z.array(text(20_000)).max(50) }),
  z.strictObject({
    type: z.literal('SCHEDULE_MEETING'),
    at: instant,
    mode: z.enum(['in_person', 'online']),
    location: text(1000).nullable().optional(),
  }),
  z.strictObject({ type: z.literal('RECORD_MEETING'), heldAt: instant, notes: text(50_000) }),
  z.strictObject({
    type: z.literal('DECIDE'),
    outcome: z.enum(['award', 'further_evidence', 'not_awarded']),
    rationale: text(20_000),
    criteria: z
      .record(code, z.enum(['met', 'further_evidence']))
      .nullable()
      .optional(),
    requests: z
      .array(z.strictObject({ criterion: code, request: text(5000) }))
      .max(100)
      .nullable()
      .optional(),
    dueBy: instant.nullable().optional(),
  }),
  z.strictObject({ type: z.literal('RESUBMIT') }),
  z.strictObject({ type: z.literal('EXTEND_DEADLINE'), dueBy: instant }),
  z.strictObject({ type: z.literal('LAPSE') }),
  z.strictObject({ type: z.literal('WITHDRAW'), reason: text(5000) }),
]);
export type ApplicationEventBody = z.infer<typeof applicationEventBody>;

export const createApplicationBody = z.strictObject({
  organisationId: z.uuid(),
  kind: z.enum(['initial', 'renewal']).default('initial'),
});

const panelMember = z.object({
  userId: z.uuid(),
  name: z.string(),
  reviewed: z.boolean().optional(),
  livedExperience: z.boolean().optional(),
  localGroup: z.boolean().optional(),
  cosStaff: z.boolean().optional(),
});

const roundSummary = z.object({
  round: z.number().int(),
  feedback: z.record(z.string(), z.object({ judgement: z.string(), feedback: z.string() })).nullable(),
  questions: z.array(z.string()),
  responses: z.array(z.string()).nullable(),
  meeting: z.record(z.string(), z.unknown()).nullable(),
  decision: z.record(z.string(), z.unknown()).nullable(),
});

export const applicationView = z
  .object({
    id: z.uuid(),
    organisationId: z.uuid(),
    organisationName: z.string(),
    streamId: z.uuid(),
    areaId: z.uuid(),
    kind: z.enum(['initial', 'renewal']),
    round: z.number().int(),
    state: z.string().describe('Dotted workflow state, e.g. appraisal.reviewing'),
    status: z.string().describe('Top-level state'),
    version: z.number().int(),
    criteriaSetId: z.uuid(),
    criteria: z.array(
      z.object({ code: z.string(), process: z.string(), title: z.string(), titleCy: z.string().nullable() }),
    ),
    answers: z.record(z.string(), z.string()),
    evidenceCounts: z.record(z.string(), z.number().int()),
    panel: z.array(panelMember),
    feedback: roundSummary.shape.feedback,
    questions: z.array(z.string()),
    responses: z.array(z.string()).nullable(),
    meeting: z.record(z.string(), z.unknown()).nullable(),
    decision: z.record(z.string(), z.unknown()).nullable(),
    previousRounds: z.array(roundSummary),
    returned: z.record(z.string(), z.unknown()).nullable(),
    withdrawal: z.record(z.string(), z.unknown()).nullable(),
    submittedAt: z.string().nullable(),
    allowedEvents: z.array(z.string()),
    blockers: z.record(z.string(), z.array(z.string())),
    awardId: z.uuid().optional(),
    previousAwardId: z.uuid().optional(),
    asOf: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Application' });
export type ApplicationView = z.infer<typeof applicationView>;

export const applicationSummary = z
  .object({
    id: z.uuid(),
    organisationId: z.uuid(),
    organisationName: z.string(),
    streamId: z.uuid(),
    areaId: z.uuid(),
    kind: z.enum(['initial', 'renewal']),
    round: z.number().int(),
    state: z.string(),
    status: z.string(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ApplicationSummary' });

export const listApplicationsQuery = z.strictObject({
  state: z.string().max(60).optional().describe('Dotted state, e.g. appraisal.reviewing'),
  status: z.string().max(60).optional().describe('Top-level state, e.g. appraisal'),
  areaId: z.uuid().optional(),
  organisationId: z.uuid().optional(),
  stream: z.string().max(60).optional().describe('Stream id or slug'),
  kind: z.enum(['initial', 'renewal']).optional(),
  updatedSince: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Only applications changed at or after this instant'),
  q: organisationNameQuery(),
  sort: sortQuery(APPLICATION_SORT_KEYS),
});

export const historyItem = z
  .object({
    seq: z.number().int(),
    type: z.string(),
    actorId: z.uuid().nullable(),
    actorName: z.string().nullable(),
    from: z.string().nullable(),
    to: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
    at: z.string(),
  })
  .meta({ id: 'HistoryEvent' });

export const reviewItem = z
  .object({
    round: z.number().int(),
    appraiserId: z.uuid(),
    appraiserName: z.string(),
    criteria: z.record(z.string(), z.object({ judgement: z.string(), comment: z.string() })),
    summary: z.string(),
    submittedAt: z.string(),
  })
  .meta({ id: 'Review' });

/**
 * The application workflow (SPEC §4): an organisation applies, a panel appraises, a decision is made.
 *
 * Pure: no I/O, no timers, no clock. Everything the guards need (the time, who is acting, whether the
 * pledge is signed, …) arrives as `event.facts`, computed by the server from the database. The server
 * drives the machine only through xstate's pure `initialTransition` / `transition` and
 * `machine.resolveState`, and stores snapshots through `persistApplicationSnapshot` /
 * `reviveApplicationSnapshot`.
 *
 * Every guard is a function returning the reasons an event is refused, in words an organisation's
 * sanctuary lead understands; the xstate guard is "no reasons".
 */

import type { AnyMachineSnapshot, SnapshotFrom } from 'xstate';
import { __unsafe_getAllOwnEventDescriptors, assertEvent, assign, setup } from 'xstate';

/** Bump when a change makes older persisted snapshots unsafe to revive as they are. */
export const APPLICATION_MACHINE_VERSION = 1;

// ---------------------------------------------------------------------------------------------------
// Types

/** Who may send an event, relative to the application (SPEC §4, "who"). */
export type EventRole = 'applicant' | 'lead' | 'admin' | 'appraiser' | 'system';

/** Facts every event carries, computed by the server. */
export interface BaseFacts {
  /** The acting user's id, or `'system'` for timers. */
  actorId: string;
  /** ISO instant at which the event is applied. */
  now: string;
  /** Set when the server only asks "what would block this event now?": no client payload is present. */
  preview?: boolean;
}

export type ReviewJudgement = 'met' | 'not_yet';
export type FeedbackJudgement = 'met' | 'further_evidence';
export type DecisionOutcome = 'award' | 'further_evidence' | 'not_awarded';
export type MeetingMode = 'in_person' | 'online';

export interface CriterionReview {
  judgement: ReviewJudgement;
  comment: string;
}

export interface Review {
  criteria: Record<string, CriterionReview>;
  summary: string;
  submittedAt: string;
}

export interface CriterionFeedback {
  judgement: FeedbackJudgement;
  feedback: string;
}

export interface EvidenceRequest {
  criterion: string;
  request: string;
}

export interface Meeting {
  at: string | null;
  mode: MeetingMode | null;
  location: string | null;
  heldAt: string | null;
  notes: string | null;
}

export interface Decision {
  outcome: DecisionOutcome;
  rationale: string;
  criteria: Record<string, FeedbackJudgement>;
  requests: EvidenceRequest[];
  dueBy: string | null;
  decidedAt: string;
  decidedBy: string;
}

export interface ReasonRecord {
  reason: string;
  at: string;
  by: string;
}

export interface DeclaredConflict extends ReasonRecord {
  userId: string;
  round: number;
}

/** What one appraisal round produced; earlier rounds are kept in `context.rounds`. */
export interface RoundRecord {
  round: number;
  panel: string[];
  /** Individual reviews by appraiser id. Private to the panel, leads and admins: never show applicants. */
  reviews: Record<string, Review>;
  feedback: Record<string, CriterionFeedback> | null;
  questions: string[];
  responses: string[] | null;
  meeting: Meeting | null;
  decision: Decision | null;
}

export interface ApplicationContext {
  /** The criterion codes of the criteria-set version the application is pinned to. */
  criteriaCodes: string[];
  minPanelSize: number;
  round: number;
  submittedOnce: boolean;
  /** First submission. */
  submittedAt: string | null;
  /** Last time a lead or admin returned the application to draft. */
  returned: ReasonRecord | null;
  panel: string[];
  /** Panel members who have reviewed in the current round. */
  reviewedBy: string[];
  /** This round's individual reviews by appraiser id. Private: never show applicants. */
  reviews: Record<string, Review>;
  /** This round's consensus feedback, per criterion. */
  feedback: Record<string, CriterionFeedback> | null;
  questions: string[];
  responses: string[] | null;
  meeting: Meeting | null;
  decision: Decision | null;
  /** Earlier rounds, oldest first. */
  rounds: RoundRecord[];
  declaredConflicts: DeclaredConflict[];
  withdrawal: ReasonRecord | null;
  lapsedAt: string | null;
}

export interface ApplicationInput {
  criteriaCodes: string[];
  minPanelSize: number;
}

export interface PanelProfile {
  userId: string;
  livedExperience: boolean;
  localGroup: boolean;
  cosStaff: boolean;
}

export type SubmitEvent = {
  type: 'SUBMIT';
  facts: BaseFacts & {
    pledgeSigned: boolean;
    /** Criterion codes without an answer. */
    missingAnswers: string[];
    /** Criterion codes without any evidence file. */
    missingEvidence: string[];
    /** The area has an active local lead, or the national route applies. */
    routeAvailable: boolean;
  };
};
export type AcceptEvent = { type: 'ACCEPT'; facts: BaseFacts };
export type ReturnEvent = { type: 'RETURN'; facts: BaseFacts; reason: string };
export type AssignAppraiserEvent = {
  type: 'ASSIGN_APPRAISER';
  /** About `userId`, so absent in preview. */
  facts: BaseFacts & {
    isAppraiser?: boolean;
    isOrganisationMember?: boolean;
    hasConflict?: boolean;
    /** The sender is an admin, or leads the appraiser's home area, or the appraiser has none (national pool). */
    appraiserWithinAssignerReach?: boolean;
  };
  userId: string;
};
export type UnassignAppraiserEvent = { type: 'UNASSIGN_APPRAISER'; facts: BaseFacts; userId: string };
export type StartReviewEvent = {
  type: 'START_REVIEW';
  facts: BaseFacts & { panelProfiles: PanelProfile[] };
};
export type SubmitReviewEvent = {
  type: 'SUBMIT_REVIEW';
  facts: BaseFacts;
  criteria: Record<string, CriterionReview>;
  summary: string;
};
export type DeclareConflictEvent = { type: 'DECLARE_CONFLICT'; facts: BaseFacts; reason: string };
export type SendFeedbackEvent = {
  type: 'SEND_FEEDBACK';
  facts: BaseFacts;
  criteria: Record<string, CriterionFeedback>;
  questions: string[];
};
export type RespondEvent = { type: 'RESPOND'; facts: BaseFacts; answers: string[] };
export type ScheduleMeetingEvent = {
  type: 'SCHEDULE_MEETING';
  facts: BaseFacts;
  at: string;
  mode: MeetingMode;
  location?: string | null;
};
export type RecordMeetingEvent = { type: 'RECORD_MEETING'; facts: BaseFacts; heldAt: string; notes: string };
export type DecideEvent = {
  type: 'DECIDE';
  facts: BaseFacts;
  outcome: DecisionOutcome;
  rationale: string;
  criteria?: Record<string, FeedbackJudgement> | null;
  requests?: EvidenceRequest[] | null;
  dueBy?: string | null;
};
export type ResubmitEvent = {
  type: 'RESUBMIT';
  /** Criterion codes with evidence added since the decision. */
  facts: BaseFacts & { criteriaWithNewEvidence: string[] };
};
export type ExtendDeadlineEvent = { type: 'EXTEND_DEADLINE'; facts: BaseFacts; dueBy: string };
export type LapseEvent = { type: 'LAPSE'; facts: BaseFacts };
export type WithdrawEvent = { type: 'WITHDRAW'; facts: BaseFacts; reason: string };

export type ApplicationEvent =
  | SubmitEvent
  | AcceptEvent
  | ReturnEvent
  | AssignAppraiserEvent
  | UnassignAppraiserEvent
  | StartReviewEvent
  | SubmitReviewEvent
  | DeclareConflictEvent
  | SendFeedbackEvent
  | RespondEvent
  | ScheduleMeetingEvent
  | RecordMeetingEvent
  | DecideEvent
  | ResubmitEvent
  | ExtendDeadlineEvent
  | LapseEvent
  | WithdrawEvent;

export type ApplicationEventType = ApplicationEvent['type'];

/** An event as the server builds it for a preview: type and facts only, no client payload. */
export type PreviewEvent<E extends { type: string; facts: BaseFacts }> = {
  type: E['type'];
  facts: E['facts'] & { preview: true };
};

type EventOfType<T extends ApplicationEventType> = Extract<ApplicationEvent, { type: T }>;

/** Gives the reasons an event would be refused now; empty when it is allowed. */
export type BlockerCheck<C, E extends { type: string; facts: BaseFacts }> = (
  context: C,
  event: E | PreviewEvent<E>,
) => string[];

export const APPLICATION_EVENT_TYPES = [
  'SUBMIT',
  'ACCEPT',
  'RETURN',
  'ASSIGN_APPRAISER',
  'UNASSIGN_APPRAISER',
  'START_REVIEW',
  'SUBMIT_REVIEW',
  'DECLARE_CONFLICT',
  'SEND_FEEDBACK',
  'RESPOND',
  'SCHEDULE_MEETING',
  'RECORD_MEETING',
  'DECIDE',
  'RESUBMIT',
  'EXTEND_DEADLINE',
  'LAPSE',
  'WITHDRAW',
] as const satisfies readonly ApplicationEventType[];

/**
 * Which relation to the application may send each event (SPEC §4, "who"). `appraiser` means an
 * appraiser on this application's panel now; the guards check that too.
 */
export const applicationEventRoles: Record<ApplicationEventType, readonly EventRole[]> = {
  SUBMIT: ['applicant'],
  ACCEPT: ['lead', 'admin'],
  RETURN: ['lead', 'admin'],
  ASSIGN_APPRAISER: ['lead', 'admin'],
  UNASSIGN_APPRAISER: ['lead', 'admin'],
  START_REVIEW: ['lead', 'admin'],
  SUBMIT_REVIEW: ['appraiser'],
  DECLARE_CONFLICT: ['appraiser'],
  SEND_FEEDBACK: ['lead', 'admin'],
  RESPOND: ['applicant'],
  SCHEDULE_MEETING: ['lead', 'admin'],
  RECORD_MEETING: ['lead', 'admin'],
  DECIDE: ['lead', 'admin'],
  RESUBMIT: ['applicant'],
  EXTEND_DEADLINE: ['lead', 'admin'],
  LAPSE: ['system'],
  WITHDRAW: ['applicant', 'lead', 'admin'],
};

// ---------------------------------------------------------------------------------------------------
// Small helpers shared with the award machine

/** The client payload of an event, or null for a preview (payload checks are then skipped). */
export function payloadOf<E extends { type: string; facts: BaseFacts }>(
  event: E | PreviewEvent<E>,
): E | null {
  return event.facts.preview === true ? null : (event as E);
}

/** Milliseconds since the epoch, or NaN for anything that is not a date. */
export function instant(iso: unknown): number {
  return typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
}

/** A date as people read it in a message, e.g. "3 March 2027". */
export function readableDate(iso: string): string {
  const time = instant(iso);
  if (Number.isNaN(time)) return iso;
  return new Date(time).toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

function isBlank(text: unknown): boolean {
  return typeof text !== 'string' || text.trim() === '';
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function reasonBlockers(reason: unknown, what: string): string[] {
  return isBlank(reason) ? [`Please give a reason for ${what}`] : [];
}

/** Checks a per-criterion map covers exactly the application's criteria with allowed judgements. */
function criteriaCoverageBlockers(
  criteriaCodes: readonly string[],
  given: Record<string, unknown> | null | undefined,
  allowedJudgements: readonly string[],
  judgementOf: (entry: unknown) => unknown,
): string[] {
  const blockers: string[] = [];
  const entries = given && typeof given === 'object' ? given : {};
  for (const code of criteriaCodes) {
    if (!(code in entries)) blockers.push(`Criterion ${code} has no judgement yet`);
  }
  for (const [code, entry] of Object.entries(entries)) {
    if (!criteriaCodes.includes(code)) {
      blockers.push(`Criterion ${code} is not one of this application's criteria`);
    } else if (!allowedJudgements.includes(judgementOf(entry) as string)) {
      const allowed = allowedJudgements.map((j) => `"${j.replace('_', ' ')}"`).join(' or ');
      blockers.push(`The judgement for criterion ${code} must be ${allowed}`);
    }
  }
  return blockers;
}

function judgementField(entry: unknown): unknown {
  return entry && typeof entry === 'object' ? (entry as { judgement?: unknown }).judgement : undefined;
}

function membersWhoHaveNotReviewed(context: ApplicationContext): string[] {
  return context.panel.filter((member) => !context.reviewedBy.includes(member));
}

/** The panel's final judgement per criterion, as DECIDE will record it (SPEC §4). */
export function finalCriteria(
  context: ApplicationContext,
  decided?: Record<string, FeedbackJudgement> | null,
): Record<string, FeedbackJudgement> {
  if (decided) return { ...decided };
  if (context.feedback) {
    return Object.fromEntries(
      Object.entries(context.feedback).map(([code, entry]) => [code, entry.judgement]),
    );
  }
  return Object.fromEntries(context.criteriaCodes.map((code) => [code, 'met' as const]));
}

// ---------------------------------------------------------------------------------------------------
// Guards: the reasons each event would be refused

/**
 * The sentences of SUBMIT's and RESUBMIT's blockers, and their reading back (`readBlocker`) in the same
 * place, so the pages can turn each into a link to what fixes it, in the person's language, without
 * depending on the English elsewhere.
 */
const BLOCKER_SENTENCES = {
  pledge: () => 'The City of Sanctuary pledge has not been signed',
  answer: (code: string) => `Criterion ${code} has no answer yet`,
  evidence: (code: string) => `Criterion ${code} has no evidence yet`,
  route: () =>
    'Your area has no active local lead yet, so applications cannot be submitted there at the moment',
  newEvidence: (code: string) => `Criterion ${code} has no new evidence since the decision`,
};
export type BlockerKind = keyof typeof BLOCKER_SENTENCES;

/** What a blocker sentence of this workflow is about, or null for another sentence. */
export function readBlocker(sentence: string): { kind: BlockerKind; criterion?: string } | null {
  for (const [kind, make] of Object.entries(BLOCKER_SENTENCES) as [BlockerKind, (code: string) => string][]) {
    if (make.length === 0) {
      if (make('') === sentence) return { kind };
      continue;
    }
    const [before, after] = make('\u0000').split('\u0000');
    if (sentence.startsWith(before) && sentence.endsWith(after)) {
      const criterion = sentence.slice(before.length, sentence.length - after.length);
      if (/^[A-Z][A-Z0-9]{0,9}$/.test(criterion)) return { kind, criterion };
    }
  }
  return null;
}

const submitBlockers: BlockerCheck<ApplicationContext, SubmitEvent> = (_context, { facts }) => {
  const blockers: string[] = [];
  if (!facts.pledgeSigned) blockers.push(BLOCKER_SENTENCES.pledge());
  for (const code of facts.missingAnswers ?? []) blockers.push(BLOCKER_SENTENCES.answer(code));
  for (const code of facts.missingEvidence ?? []) blockers.push(BLOCKER_SENTENCES.evidence(code));
  if (!facts.routeAvailable) blockers.push(BLOCKER_SENTENCES.route());
  return blockers;
};

const noBlockers = (): string[] => [];

const returnBlockers: BlockerCheck<ApplicationContext, ReturnEvent> = (_context, event) => {
  const payload = payloadOf(event);
  return payload ? reasonBlockers(payload.reason, 'returning the application') : [];
};

const assignAppraiserBlockers: BlockerCheck<ApplicationContext, AssignAppraiserEvent> = (context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  const { facts } = payload;
  const blockers: string[] = [];
  if (context.panel.includes(payload.userId)) blockers.push('This person is already on the panel');
  if (facts.isAppraiser !== true) blockers.push('This person is not an appraiser');
  else if (facts.appraiserWithinAssignerReach !== true) {
    blockers.push(
      'This appraiser belongs to another area: a local lead assigns appraisers from their own areas or the national pool, and an admin can assign anyone',
    );
  }
  if (facts.isOrganisationMember === true) {
    blockers.push('This person belongs to the applying organisation, so cannot appraise it');
  }
  if (facts.hasConflict === true) {
    blockers.push('This person has declared a conflict of interest with the applying organisation');
  }
  return blockers;
};

const unassignAppraiserBlockers: BlockerCheck<ApplicationContext, UnassignAppraiserEvent> = (
  context,
  event,
) => {
  const payload = payloadOf(event);
  if (!payload) return context.panel.length === 0 ? ['Nobody is on the panel yet'] : [];
  return context.panel.includes(payload.userId) ? [] : ['This person is not on the panel'];
};

const startReviewBlockers: BlockerCheck<ApplicationContext, StartReviewEvent> = (context, { facts }) => {
  const blockers: string[] = [];
  const size = context.panel.length;
  if (size < context.minPanelSize) {
    blockers.push(`The panel needs at least ${plural(context.minPanelSize, 'member')} (it has ${size})`);
  }
  const panelProfiles = (facts.panelProfiles ?? []).filter((p) => context.panel.includes(p.userId));
  if (!panelProfiles.some((p) => p.livedExperience)) {
    blockers.push('At least one panel member must have lived experience of seeking sanctuary');
  }
  return blockers;
};

/** START_REVIEW advice that does not block (SPEC §2, Panel). */
export function startReviewWarnings(
  context: ApplicationContext,
  event: StartReviewEvent | PreviewEvent<StartReviewEvent>,
): string[] {
  const panelProfiles = (event.facts.panelProfiles ?? []).filter((p) => context.panel.includes(p.userId));
  if (panelProfiles.some((p) => p.localGroup || p.cosStaff)) return [];
  return [
    'No panel member is from the local City of Sanctuary group or City of Sanctuary UK staff; the panel should include one',
  ];
}

function panelMemberBlockers(context: ApplicationContext, actorId: string): string[] {
  return context.panel.includes(actorId) ? [] : ["You are not on this application's panel"];
}

const submitReviewBlockers: BlockerCheck<ApplicationContext, SubmitReviewEvent> = (context, event) => {
  const { actorId } = event.facts;
  const notOnPanel = panelMemberBlockers(context, actorId);
  if (notOnPanel.length > 0) return notOnPanel;
  if (context.reviewedBy.includes(actorId)) {
    return [`You have already submitted your review for round ${context.round}`];
  }
  const payload = payloadOf(event);
  if (!payload) return [];
  return criteriaCoverageBlockers(
    context.criteriaCodes,
    payload.criteria,
    ['met', 'not_yet'],
    judgementField,
  );
};

const declareConflictBlockers: BlockerCheck<ApplicationContext, DeclareConflictEvent> = (context, event) => {
  const blockers = panelMemberBlockers(context, event.facts.actorId);
  const payload = payloadOf(event);
  if (payload) blockers.push(...reasonBlockers(payload.reason, 'the conflict of interest'));
  return blockers;
};

const sendFeedbackBlockers: BlockerCheck<ApplicationContext, SendFeedbackEvent> = (context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  const blockers = criteriaCoverageBlockers(
    context.criteriaCodes,
    payload.criteria,
    ['met', 'further_evidence'],
    judgementField,
  );
  if (!Array.isArray(payload.questions) || payload.questions.some(isBlank)) {
    blockers.push('Every question must have some text');
  }
  return blockers;
};

const respondBlockers: BlockerCheck<ApplicationContext, RespondEvent> = (context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  const answers = Array.isArray(payload.answers) ? payload.answers : [];
  const asked = context.questions.length;
  if (answers.length !== asked) {
    return [
      `Please give one answer per question (${plural(asked, 'question')}, ${plural(answers.length, 'answer')})`,
    ];
  }
  return answers.flatMap((answer, index) =>
    isBlank(answer) ? [`Question ${index + 1} has no answer yet`] : [],
  );
};

const scheduleMeetingBlockers: BlockerCheck<ApplicationContext, ScheduleMeetingEvent> = (_context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  const blockers: string[] = [];
  if (Number.isNaN(instant(payload.at))) blockers.push('The meeting needs a valid date and time');
  if (payload.mode !== 'in_person' && payload.mode !== 'online') {
    blockers.push('The meeting must be in person or online');
  }
  if (payload.mode === 'in_person' && isBlank(payload.location)) {
    blockers.push('An in-person meeting needs a location');
  }
  return blockers;
};

const recordMeetingBlockers: BlockerCheck<ApplicationContext, RecordMeetingEvent> = (_context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  const heldAt = instant(payload.heldAt);
  if (Number.isNaN(heldAt)) return ['The meeting record needs a valid date and time'];
  if (heldAt > instant(payload.facts.now)) return ['A meeting can only be recorded once it has been held'];
  return [];
};

const decideBlockers: BlockerCheck<ApplicationContext, DecideEvent> = (context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  const blockers: string[] = [];
  if (!['award', 'further_evidence', 'not_awarded'].includes(payload.outcome)) {
    blockers.push('The outcome must be award, further evidence or not awarded');
  }
  if (isBlank(payload.rationale)) blockers.push('Please give the reasons for the decision');
  if (payload.criteria) {
    blockers.push(
      ...criteriaCoverageBlockers(
        context.criteriaCodes,
        payload.criteria,
        ['met', 'further_evidence'],
        (judgement) => judgement,
      ),
    );
  }
  if (payload.outcome === 'award') {
    const criteria = finalCriteria(context, payload.criteria);
    for (const code of context.criteriaCodes) {
      if (criteria[code] !== 'met')
        blockers.push(`Criterion ${code} is not met, so the award cannot be made`);
    }
  }
  if (payload.outcome === 'further_evidence') {
    const requests = payload.requests ?? [];
    if (requests.length === 0) blockers.push('Please say what further evidence is needed');
    for (const { criterion, request } of requests) {
      if (!context.criteriaCodes.includes(criterion)) {
        blockers.push(`Criterion ${criterion} is not one of this application's criteria`);
      } else if (isBlank(request)) {
        blockers.push(`Please say what further evidence is needed for criterion ${criterion}`);
      }
    }
    blockers.push(
      ...futureDateBlockers(payload.dueBy, payload.facts.now, 'The due date for further evidence'),
    );
  }
  return blockers;
};

function futureDateBlockers(dueBy: unknown, now: string, what: string): string[] {
  const due = instant(dueBy);
  if (Number.isNaN(due)) return [`${what} is missing or not a valid date`];
  if (due <= instant(now)) return [`${what} must be in the future`];
  return [];
}

/** Criteria the decision asked more evidence for. */
export function requestedCriteria(context: ApplicationContext): string[] {
  return [...new Set((context.decision?.requests ?? []).map((r) => r.criterion))];
}

const resubmitBlockers: BlockerCheck<ApplicationContext, ResubmitEvent> = (context, { facts }) => {
  const withNewEvidence = facts.criteriaWithNewEvidence ?? [];
  return requestedCriteria(context)
    .filter((code) => !withNewEvidence.includes(code))
    .map((code) => BLOCKER_SENTENCES.newEvidence(code));
};

const extendDeadlineBlockers: BlockerCheck<ApplicationContext, ExtendDeadlineEvent> = (_context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  return futureDateBlockers(payload.dueBy, payload.facts.now, 'The new due date');
};

const lapseBlockers: BlockerCheck<ApplicationContext, LapseEvent> = (context, { facts }) => {
  const dueBy = context.decision?.dueBy;
  if (!dueBy) return ['No due date has been set for further evidence'];
  if (instant(facts.now) < instant(dueBy)) {
    return [`The due date for further evidence (${readableDate(dueBy)}) has not passed yet`];
  }
  return [];
};

const withdrawBlockers: BlockerCheck<ApplicationContext, WithdrawEvent> = (_context, event) => {
  const payload = payloadOf(event);
  return payload ? reasonBlockers(payload.reason, 'withdrawing the application') : [];
};

/** For each event type, the reasons it would be refused (empty: allowed, if the state accepts it). */
export const applicationBlockers: {
  [T in ApplicationEventType]: BlockerCheck<ApplicationContext, EventOfType<T>>;
} = {
  SUBMIT: submitBlockers,
  ACCEPT: noBlockers,
  RETURN: returnBlockers,
  ASSIGN_APPRAISER: assignAppraiserBlockers,
  UNASSIGN_APPRAISER: unassignAppraiserBlockers,
  START_REVIEW: startReviewBlockers,
  SUBMIT_REVIEW: submitReviewBlockers,
  DECLARE_CONFLICT: declareConflictBlockers,
  SEND_FEEDBACK: sendFeedbackBlockers,
  RESPOND: respondBlockers,
  SCHEDULE_MEETING: scheduleMeetingBlockers,
  RECORD_MEETING: recordMeetingBlockers,
  DECIDE: decideBlockers,
  RESUBMIT: resubmitBlockers,
  EXTEND_DEADLINE: extendDeadlineBlockers,
  LAPSE: lapseBlockers,
  WITHDRAW: withdrawBlockers,
};

/** The blockers of any application event (full or preview); an unknown type is blocked. */
export function applicationEventBlockers(
  context: ApplicationContext,
  event: ApplicationEvent | PreviewEvent<ApplicationEvent>,
): string[] {
  const check = applicationBlockers[event.type] as
    | BlockerCheck<ApplicationContext, ApplicationEvent>
    | undefined;
  return check ? check(context, event) : [`${event.type} is not an application event`];
}

// ---------------------------------------------------------------------------------------------------
// Context changes

function withoutMember(list: string[], userId: string): string[] {
  return list.filter((member) => member !== userId);
}

function withoutKey<V>(record: Record<string, V>, key: string): Record<string, V> {
  const { [key]: _removed, ...rest } = record;
  return rest;
}

function emptyMeeting(): Meeting {
  return { at: null, mode: null, location: null, heldAt: null, notes: null };
}

function currentRound(context: ApplicationContext): RoundRecord {
  return {
    round: context.round,
    panel: context.panel,
    reviews: context.reviews,
    feedback: context.feedback,
    questions: context.questions,
    responses: context.responses,
    meeting: context.meeting,
    decision: context.decision,
  };
}

// ---------------------------------------------------------------------------------------------------
// The machine

// Transitions shared by several states.
const withdraw = {
  WITHDRAW: { guard: 'noBlockers', target: '#application.withdrawn', actions: 'recordWithdrawal' },
} as const;

const decidedAs = (outcome: DecisionOutcome, target: string) =>
  ({ guard: { type: 'decides', params: { outcome } }, target, actions: 'recordDecision' }) as const;

const decide = {
  DECIDE: [
    decidedAs('award', '#application.awarded'),
    decidedAs('further_evidence', '#application.furtherEvidenceRequested'),
    decidedAs('not_awarded', '#application.notAwarded'),
  ],
};

export const applicationMachine = setup({
  types: {
    context: {} as ApplicationContext,
    events: {} as ApplicationEvent,
    input: {} as ApplicationInput,
  },
  guards: {
    noBlockers: ({ context, event }) => applicationEventBlockers(context, event).length === 0,
    decides: ({ context, event }, params: { outcome: DecisionOutcome }) =>
      event.type === 'DECIDE' &&
      event.outcome === params.outcome &&
      applicationEventBlockers(context, event).length === 0,
    panelBelowMinimum: ({ context }) => context.panel.length < context.minPanelSize,
    everyMemberHasReviewed: ({ context }) =>
      context.panel.length > 0 && membersWhoHaveNotReviewed(context).length === 0,
  },
  actions: {
    recordSubmission: assign(({ context, event }) => {
      assertEvent(event, 'SUBMIT');
      return { submittedOnce: true, submittedAt: context.submittedAt ?? event.facts.now };
    }),
    recordReturn: assign(({ event }) => {
      assertEvent(event, 'RETURN');
      return { returned: { reason: event.reason, at: event.facts.now, by: event.facts.actorId } };
    }),
    addToPanel: assign(({ context, event }) => {
      assertEvent(event, 'ASSIGN_APPRAISER');
      return { panel: [...context.panel, event.userId] };
    }),
    removeFromPanel: assign(({ context, event }) => {
      assertEvent(event, 'UNASSIGN_APPRAISER');
      return {
        panel: withoutMember(context.panel, event.userId),
        reviewedBy: withoutMember(context.reviewedBy, event.userId),
        reviews: withoutKey(context.reviews, event.userId),
      };
    }),
    recordReview: assign(({ context, event }) => {
      assertEvent(event, 'SUBMIT_REVIEW');
      const review: Review = {
        criteria: event.criteria,
        summary: event.summary ?? '',
        submittedAt: event.facts.now,
      };
      return {
        reviewedBy: [...context.reviewedBy, event.facts.actorId],
        reviews: { ...context.reviews, [event.facts.actorId]: review },
      };
    }),
    recordConflict: assign(({ context, event }) => {
      assertEvent(event, 'DECLARE_CONFLICT');
      const { actorId, now } = event.facts;
      return {
        panel: withoutMember(context.panel, actorId),
        reviewedBy: withoutMember(context.reviewedBy, actorId),
        reviews: withoutKey(context.reviews, actorId),
        declaredConflicts: [
          ...context.declaredConflicts,
          { userId: actorId, reason: event.reason, at: now, by: actorId, round: context.round },
        ],
      };
    }),
    recordFeedback: assign(({ event }) => {
      assertEvent(event, 'SEND_FEEDBACK');
      return { feedback: event.criteria, questions: event.questions, responses: null };
    }),
    recordResponses: assign(({ event }) => {
      assertEvent(event, 'RESPOND');
      return { responses: event.answers };
    }),
    scheduleMeeting: assign(({ context, event }) => {
      assertEvent(event, 'SCHEDULE_MEETING');
      return {
        meeting: {
          ...(context.meeting ?? emptyMeeting()),
          at: event.at,
          mode: event.mode,
          location: event.location ?? null,
        },
      };
    }),
    recordMeeting: assign(({ context, event }) => {
      assertEvent(event, 'RECORD_MEETING');
      return {
        meeting: { ...(context.meeting ?? emptyMeeting()), heldAt: event.heldAt, notes: event.notes },
      };
    }),
    recordDecision: assign(({ context, event }) => {
      assertEvent(event, 'DECIDE');
      const furtherEvidence = event.outcome === 'further_evidence';
      const decision: Decision = {
        outcome: event.outcome,
        rationale: event.rationale,
        criteria: finalCriteria(context, event.criteria),
        requests: furtherEvidence ? (event.requests ?? []) : [],
        dueBy: furtherEvidence ? (event.dueBy ?? null) : null,
        decidedAt: event.facts.now,
        decidedBy: event.facts.actorId,
      };
      return { decision };
    }),
    startNextRound: assign(({ context, event }) => {
      assertEvent(event, 'RESUBMIT');
      return {
        rounds: [...context.rounds, currentRound(context)],
        round: context.round + 1,
        reviewedBy: [],
        reviews: {},
        feedback: null,
        questions: [],
        responses: null,
        meeting: null,
        decision: null,
      };
    }),
    extendDeadline: assign(({ context, event }) => {
      assertEvent(event, 'EXTEND_DEADLINE');
      return { decision: context.decision ? { ...context.decision, dueBy: event.dueBy } : null };
    }),
    recordLapse: assign(({ event }) => ({ lapsedAt: event.facts.now })),
    recordWithdrawal: assign(({ event }) => {
      assertEvent(event, 'WITHDRAW');
      return { withdrawal: { reason: event.reason, at: event.facts.now, by: event.facts.actorId } };
    }),
  },
}).createMachine({
  id: 'application',
  initial: 'draft',
  // xstate's transition() builds an inert actor, without input, on every call: a factory that threw
  // there would cost an Error per transition. No real application starts without input.
  context: ({ input }) => ({
    criteriaCodes: [...(input?.criteriaCodes ?? [])],
    minPanelSize: input?.minPanelSize ?? 0,
    round: 1,
    submittedOnce: false,
    submittedAt: null,
    returned: null,
    panel: [],
    reviewedBy: [],
    reviews: {},
    feedback: null,
    questions: [],
    responses: null,
    meeting: null,
    decision: null,
    rounds: [],
    declaredConflicts: [],
    withdrawal: null,
    lapsedAt: null,
  }),
  states: {
    draft: {
      on: {
        SUBMIT: { guard: 'noBlockers', target: 'submitted', actions: 'recordSubmission' },
        ...withdraw,
      },
    },
    submitted: {
      on: {
        ACCEPT: { target: 'appraisal.panelForming' },
        RETURN: { guard: 'noBlockers', target: 'draft', actions: 'recordReturn' },
        ...withdraw,
      },
    },
    appraisal: {
      initial: 'panelForming',
      on: { ...withdraw },
      states: {
        panelForming: {
          on: {
            ASSIGN_APPRAISER: { guard: 'noBlockers', actions: 'addToPanel' },
            UNASSIGN_APPRAISER: { guard: 'noBlockers', actions: 'removeFromPanel' },
            START_REVIEW: { guard: 'noBlockers', target: 'reviewing' },
          },
        },
        reviewing: {
          // Evaluated after every event here: a panel that lost members goes back to forming; once
          // every remaining member has reviewed, the panel moves to consensus.
          always: [
            { guard: 'panelBelowMinimum', target: 'panelForming' },
            { guard: 'everyMemberHasReviewed', target: 'consensus' },
          ],
          on: {
            UNASSIGN_APPRAISER: { guard: 'noBlockers', actions: 'removeFromPanel' },
            SUBMIT_REVIEW: { guard: 'noBlockers', actions: 'recordReview' },
            DECLARE_CONFLICT: { guard: 'noBlockers', actions: 'recordConflict' },
          },
        },
        consensus: {
          on: {
            SEND_FEEDBACK: {
              guard: 'noBlockers',
              target: '#application.awaitingResponse',
              actions: 'recordFeedback',
            },
            ...decide,
          },
        },
      },
    },
    awaitingResponse: {
      on: {
        RESPOND: { guard: 'noBlockers', target: 'meeting', actions: 'recordResponses' },
        ...withdraw,
      },
    },
    meeting: {
      on: {
        SCHEDULE_MEETING: { guard: 'noBlockers', actions: 'scheduleMeeting' },
        RECORD_MEETING: { guard: 'noBlockers', actions: 'recordMeeting' },
        ...decide,
        ...withdraw,
      },
    },
    furtherEvidenceRequested: {
      on: {
        RESUBMIT: { guard: 'noBlockers', target: 'appraisal.reviewing', actions: 'startNextRound' },
        EXTEND_DEADLINE: { guard: 'noBlockers', actions: 'extendDeadline' },
        LAPSE: { guard: 'noBlockers', target: 'lapsed', actions: 'recordLapse' },
        ...withdraw,
      },
    },
    awarded: { type: 'final' },
    notAwarded: { type: 'final' },
    withdrawn: { type: 'final' },
    lapsed: { type: 'final' },
  },
});

export type ApplicationSnapshot = SnapshotFrom<typeof applicationMachine>;

/** Top-level application states. */
export type ApplicationStatus =
  | 'draft'
  | 'submitted'
  | 'appraisal'
  | 'awaitingResponse'
  | 'meeting'
  | 'furtherEvidenceRequested'
  | 'awarded'
  | 'notAwarded'
  | 'withdrawn'
  | 'lapsed';

export const APPLICATION_FINAL_STATES = ['awarded', 'notAwarded', 'withdrawn', 'lapsed'] as const;

// ---------------------------------------------------------------------------------------------------
// Snapshot helpers (generic ones also serve the award machine)

/** The JSON-safe parts of a snapshot that `reviveSnapshot` needs. */
export interface PersistedSnapshot<C> {
  value: string | Record<string, unknown>;
  context: C;
  status: 'active' | 'done';
}

export function persistSnapshot<C>(snapshot: {
  value: unknown;
  context: C;
  status: string;
}): PersistedSnapshot<C> {
  // A deep copy through JSON so that what is stored is exactly what will be read back.
  return JSON.parse(snapshotJson(snapshot)) as PersistedSnapshot<C>;
}

/** A snapshot as stored, as JSON text (the transition path needs only the text, not `persistSnapshot`'s copy). */
export function snapshotJson(snapshot: { value: unknown; context: unknown; status: string }): string {
  return JSON.stringify({ value: snapshot.value, context: snapshot.context, status: snapshot.status });
}

/** The state as one string, nested states joined with a dot: `'draft'`, `'appraisal.reviewing'`. */
export function stateString(snapshot: { value: unknown }): string {
  const parts: string[] = [];
  let value: unknown = snapshot.value;
  while (value && typeof value === 'object') {
    const [key] = Object.keys(value);
    parts.push(key);
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === 'string') parts.push(value);
  return parts.join('.');
}

/** The top-level state name, e.g. `'appraisal'` for `'appraisal.reviewing'`. */
export function statusOf(snapshot: { value: unknown }): string {
  return stateString(snapshot).split('.')[0];
}

export function isFinal(snapshot: { status: string }): boolean {
  return snapshot.status === 'done';
}

/**
 * The event types the current state has a transition for, guards ignored: an event outside this list
 * is an illegal transition (409); one inside it whose blockers are not empty failed its guard (422).
 */
export function acceptedEventTypes(snapshot: AnyMachineSnapshot): string[] {
  if (snapshot.status !== 'active') return [];
  return __unsafe_getAllOwnEventDescriptors(snapshot).filter(
    (descriptor) => !descriptor.startsWith('xstate.'),
  );
}

// ---------------------------------------------------------------------------------------------------
// Application snapshot helpers

export function persistApplicationSnapshot(
  snapshot: ApplicationSnapshot,
): PersistedSnapshot<ApplicationContext> {
  return persistSnapshot(snapshot);
}

/** Turns stored JSON back into a snapshot that `transition` and `can` accept. */
export function reviveApplicationSnapshot(json: unknown): ApplicationSnapshot {
  const persisted = (
    typeof json === 'string' ? JSON.parse(json) : json
  ) as PersistedSnapshot<ApplicationContext>;
  return applicationMachine.resolveState({
    value: persisted.value as ApplicationSnapshot['value'],
    context: persisted.context,
  });
}

export function applicationStateString(snapshot: ApplicationSnapshot): string {
  return stateString(snapshot);
}

export function applicationStatusOf(snapshot: ApplicationSnapshot): ApplicationStatus {
  return statusOf(snapshot) as ApplicationStatus;
}

export function acceptedApplicationEventTypes(snapshot: ApplicationSnapshot): ApplicationEventType[] {
  const accepted = acceptedEventTypes(snapshot);
  return APPLICATION_EVENT_TYPES.filter((type) => accepted.includes(type));
}

const ANSWERS_OPEN_STATES: readonly string[] = ['draft', 'awaitingResponse', 'furtherEvidenceRequested'];

/** Answers may be edited while the organisation holds the application (SPEC §4). */
export function canEditAnswers(snapshot: ApplicationSnapshot): boolean {
  return ANSWERS_OPEN_STATES.includes(statusOf(snapshot));
}

export function canAddEvidence(snapshot: ApplicationSnapshot): boolean {
  return ANSWERS_OPEN_STATES.includes(statusOf(snapshot));
}

/** Once submitted, evidence is part of the record the panel may have seen: it can no longer be deleted. */
export function canDeleteEvidence(snapshot: ApplicationSnapshot): boolean {
  return statusOf(snapshot) === 'draft' && !snapshot.context.submittedOnce;
}

export interface TimerDue<T extends string> {
  eventType: T;
  dueAt: string;
}

/** The timers that should be pending in this state; re-enqueue after each transition (keyed by type). */
export function pendingApplicationTimers(snapshot: ApplicationSnapshot): TimerDue<'LAPSE'>[] {
  const dueBy = snapshot.context.decision?.dueBy;
  if (statusOf(snapshot) !== 'furtherEvidenceRequested' || !dueBy) return [];
  return [{ eventType: 'LAPSE', dueAt: dueBy }];
}

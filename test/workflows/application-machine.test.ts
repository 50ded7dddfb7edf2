import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { getShortestPaths, getStateNodes } from '@xstate/graph';
import { initialTransition, transition } from 'xstate';
import type {
  ApplicationEvent,
  ApplicationEventType,
  ApplicationSnapshot,
  PanelProfile,
  PreviewEvent,
} from '../../workflows/index.ts';
import {
  APPLICATION_EVENT_TYPES,
  APPLICATION_MACHINE_VERSION,
  acceptedApplicationEventTypes,
  acceptedEventTypes,
  applicationBlockers,
  applicationEventBlockers,
  applicationEventRoles,
  applicationMachine,
  applicationStatusOf,
  canAddEvidence,
  canDeleteEvidence,
  canEditAnswers,
  isFinal,
  pendingApplicationTimers,
  persistApplicationSnapshot,
  reviveApplicationSnapshot,
  startReviewWarnings,
  stateString,
  statusOf,
} from '../../workflows/index.ts';

const NOW = '2026-11-10T10:00:00.000Z';
const IN_30_DAYS = '2026-12-10T10:00:00.000Z';
const IN_45_DAYS = '2026-12-25T10:00:00.000Z';
const IN_60_DAYS = '2027-01-09T10:00:00.000Z';
const YESTERDAY = '2026-11-09T10:00:00.000Z';

const CODES = ['L1', 'E1', 'E2', 'S1'];
const LEAD = 'lead-1';
const APPLICANT = 'applicant-1';
const APPRAISERS = ['appraiser-1', 'appraiser-2', 'appraiser-3', 'appraiser-4'];

const PROFILES: PanelProfile[] = [
  { userId: 'appraiser-1', livedExperience: true, localGroup: false, cosStaff: false },
  { userId: 'appraiser-2', livedExperience: false, localGroup: true, cosStaff: false },
  { userId: 'appraiser-3', livedExperience: false, localGroup: false, cosStaff: false },
  { userId: 'appraiser-4', livedExperience: false, localGroup: false, cosStaff: true },
];

const facts = <F extends object>(actorId: string, extra?: F) =>
  ({ actorId, now: NOW, ...extra }) as {
    actorId: string;
    now: string;
  } & F;

function everyCriterion<V>(value: V): Record<string, V> {
  return Object.fromEntries(CODES.map((code) => [code, value]));
}

/** Valid events, with overridable parts, as the server would build them. */
const events = {
  submit: (overrides: Partial<Extract<ApplicationEvent, { type: 'SUBMIT' }>['facts']> = {}) =>
    ({
      type: 'SUBMIT',
      facts: facts(APPLICANT, {
        pledgeSigned: true,
        missingAnswers: [] as string[],
        missingEvidence: [] as string[],
        routeAvailable: true,
        ...overrides,
      }),
    }) satisfies ApplicationEvent,
  accept: () => ({ type: 'ACCEPT', facts: facts(LEAD) }) satisfies ApplicationEvent,
  return: (reason = 'Please add the headteacher’s statement') =>
    ({ type: 'RETURN', facts: facts(LEAD), reason }) satisfies ApplicationEvent,
  assign: (
    userId: string,
    overrides: {
      isAppraiser?: boolean;
      isOrganisationMember?: boolean;
      hasConflict?: boolean;
      appraiserWithinAssignerReach?: boolean;
    } = {},
  ) =>
    ({
      type: 'ASSIGN_APPRAISER',
      userId,
      facts: facts(LEAD, {
        isAppraiser: true,
        isOrganisationMember: false,
        hasConflict: false,
        appraiserWithinAssignerReach: true,
        ...overrides,
      }),
    }) satisfies ApplicationEvent,
  unassign: (userId: string) =>
    ({ type: 'UNASSIGN_APPRAISER', userId, facts: facts(LEAD) }) satisfies ApplicationEvent,
  startReview: (panelProfiles: PanelProfile[] = PROFILES) =>
    ({ type: 'START_REVIEW', facts: facts(LEAD, { panelProfiles }) }) satisfies ApplicationEvent,
  review: (
    appraiserId: string,
    criteria = everyCriterion({ judgement: 'met' as const, comment: 'Clear evidence' }),
  ) =>
    ({
      type: 'SUBMIT_REVIEW',
      facts: facts(appraiserId),
      criteria,
      summary: 'A welcoming school',
    }) satisfies ApplicationEvent,
  declareConflict: (appraiserId: string, reason = 'My child attends this school') =>
    ({ type: 'DECLARE_CONFLICT', facts: facts(appraiserId), reason }) satisfies ApplicationEvent,
  sendFeedback: (
    criteria = everyCriterion({ judgement: 'met' as 'met' | 'further_evidence', feedback: 'Well shown' }),
    questions = ['How do pupils shape the sanctuary work?'],
  ) => ({ type: 'SEND_FEEDBACK', facts: facts(LEAD), criteria, questions }) satisfies ApplicationEvent,
  respond: (answers = ['Through the pupil sanctuary council']) =>
    ({ type: 'RESPOND', facts: facts(APPLICANT), answers }) satisfies ApplicationEvent,
  scheduleMeeting: (at = IN_30_DAYS, mode: 'in_person' | 'online' = 'online', location?: string) =>
    ({ type: 'SCHEDULE_MEETING', facts: facts(LEAD), at, mode, location }) satisfies ApplicationEvent,
  recordMeeting: (heldAt = YESTERDAY) =>
    ({
      type: 'RECORD_MEETING',
      facts: facts(LEAD),
      heldAt,
      notes: 'Met the pupil council',
    }) satisfies ApplicationEvent,
  decide: (extra: Partial<Extract<ApplicationEvent, { type: 'DECIDE' }>> = {}) =>
    ({
      type: 'DECIDE',
      facts: facts(LEAD),
      outcome: 'award',
      rationale: 'Every criterion is met',
      ...extra,
    }) as Extract<ApplicationEvent, { type: 'DECIDE' }>,
  decideFurtherEvidence: () =>
    events.decide({
      outcome: 'further_evidence',
      criteria: { ...everyCriterion('met' as const), E2: 'further_evidence' },
      requests: [{ criterion: 'E2', request: 'Show how families co-produce the work' }],
      dueBy: IN_30_DAYS,
    }),
  resubmit: (criteriaWithNewEvidence = ['E2']) =>
    ({ type: 'RESUBMIT', facts: facts(APPLICANT, { criteriaWithNewEvidence }) }) satisfies ApplicationEvent,
  extendDeadline: (dueBy = IN_45_DAYS) =>
    ({ type: 'EXTEND_DEADLINE', facts: facts(LEAD), dueBy }) satisfies ApplicationEvent,
  lapse: (now = IN_60_DAYS) =>
    ({ type: 'LAPSE', facts: { actorId: 'system', now } }) satisfies ApplicationEvent,
  withdraw: (actorId = APPLICANT, reason = 'We will apply next year') =>
    ({ type: 'WITHDRAW', facts: facts(actorId), reason }) satisfies ApplicationEvent,
};

function start(minPanelSize = 3): ApplicationSnapshot {
  return initialTransition(applicationMachine, { criteriaCodes: CODES, minPanelSize })[0];
}

function send(snapshot: ApplicationSnapshot, event: ApplicationEvent): ApplicationSnapshot {
  return transition(applicationMachine, snapshot, event)[0];
}

function run(snapshot: ApplicationSnapshot, ...list: ApplicationEvent[]): ApplicationSnapshot {
  return list.reduce(send, snapshot);
}

/** Sends an event that must be refused, and gives its blockers. */
function expectRefused(snapshot: ApplicationSnapshot, event: ApplicationEvent): string[] {
  expect(snapshot.can(event)).toBe(false);
  expect(send(snapshot, event)).toBe(snapshot);
  const blockers = applicationEventBlockers(snapshot.context, event);
  expect(blockers.length).toBeGreaterThan(0);
  return blockers;
}

const submitted = () => send(start(), events.submit());
const panelForming = () => send(submitted(), events.accept());
const withPanel = () => run(panelForming(), ...APPRAISERS.slice(0, 3).map((id) => events.assign(id)));
const reviewing = () => send(withPanel(), events.startReview());
const consensus = () => run(reviewing(), ...APPRAISERS.slice(0, 3).map((id) => events.review(id)));
const awaitingResponse = () => send(consensus(), events.sendFeedback());
const meeting = () => send(awaitingResponse(), events.respond());
const furtherEvidenceRequested = () => send(meeting(), events.decideFurtherEvidence());

describe('application machine', () => {
  it('exports its version', () => {
    expect(APPLICATION_MACHINE_VERSION).toBe(1);
  });

  it('starts in draft with the pinned criteria', () => {
    const snapshot = start();
    expect(stateString(snapshot)).toBe('draft');
    expect(snapshot.context).toMatchObject({
      criteriaCodes: CODES,
      minPanelSize: 3,
      round: 1,
      submittedOnce: false,
      panel: [],
      reviewedBy: [],
    });
    expect(acceptedApplicationEventTypes(snapshot)).toEqual(['SUBMIT', 'WITHDRAW']);
  });

  describe('draft → submitted', () => {
    it('submits when everything is ready', () => {
      const snapshot = send(start(), events.submit());
      expect(stateString(snapshot)).toBe('submitted');
      expect(snapshot.context.submittedOnce).toBe(true);
      expect(snapshot.context.submittedAt).toBe(NOW);
    });

    it('says what is missing', () => {
      const blockers = expectRefused(
        start(),
        events.submit({
          pledgeSigned: false,
          missingAnswers: ['L1'],
          missingEvidence: ['E2'],
          routeAvailable: false,
        }),
      );
      expect(blockers).toEqual([
        'The City of Sanctuary pledge has not been signed',
        'Criterion L1 has no answer yet',
        'Criterion E2 has no evidence yet',
        'Your area has no active local lead yet, so applications cannot be submitted there at the moment',
      ]);
    });

    it('can be returned to draft with a reason, and keeps having been submitted', () => {
      const snapshot = send(submitted(), events.return());
      expect(stateString(snapshot)).toBe('draft');
      expect(snapshot.context.returned).toEqual({
        reason: 'Please add the headteacher’s statement',
        at: NOW,
        by: LEAD,
      });
      expect(snapshot.context.submittedOnce).toBe(true);
      expect(canDeleteEvidence(snapshot)).toBe(false);
      expect(expectRefused(submitted(), events.return('  '))).toEqual([
        'Please give a reason for returning the application',
      ]);
    });

    it('is accepted into panel forming', () => {
      expect(stateString(panelForming())).toBe('appraisal.panelForming');
      expect(statusOf(panelForming())).toBe('appraisal');
      expect(applicationStatusOf(panelForming())).toBe('appraisal');
    });
  });

  describe('panel forming', () => {
    it('adds appraisers', () => {
      expect(withPanel().context.panel).toEqual(APPRAISERS.slice(0, 3));
      expect(stateString(withPanel())).toBe('appraisal.panelForming');
    });

    it('refuses unsuitable appraisers, with reasons', () => {
      const snapshot = withPanel();
      expect(expectRefused(snapshot, events.assign('appraiser-1'))).toEqual([
        'This person is already on the panel',
      ]);
      expect(
        expectRefused(
          snapshot,
          events.assign('someone', { isAppraiser: false, isOrganisationMember: true, hasConflict: true }),
        ),
      ).toEqual([
        'This person is not an appraiser',
        'This person belongs to the applying organisation, so cannot appraise it',
        'This person has declared a conflict of interest with the applying organisation',
      ]);
    });

    it("refuses an appraiser beyond the assigner's reach, and one whose reach is unknown", () => {
      const snapshot = withPanel();
      const reason = [
        expect.stringMatching(/another area: a local lead assigns appraisers from their own areas/),
      ];
      expect(
        expectRefused(snapshot, events.assign('appraiser-4', { appraiserWithinAssignerReach: false })),
      ).toEqual(reason);
      const unknown = events.assign('appraiser-4');
      delete (unknown.facts as { appraiserWithinAssignerReach?: boolean }).appraiserWithinAssignerReach;
      expect(expectRefused(snapshot, unknown)).toEqual(reason);
      expect(send(snapshot, events.assign('appraiser-4')).context.panel).toContain('appraiser-4');
    });

    it('removes appraisers, and refuses to remove someone not on the panel', () => {
      const snapshot = send(withPanel(), events.unassign('appraiser-2'));
      expect(snapshot.context.panel).toEqual(['appraiser-1', 'appraiser-3']);
      expect(expectRefused(snapshot, events.unassign('appraiser-2'))).toEqual([
        'This person is not on the panel',
      ]);
    });

    it('starts the review with a big enough panel that includes lived experience', () => {
      const snapshot = reviewing();
      expect(stateString(snapshot)).toBe('appraisal.reviewing');
    });

    it('refuses to start the review with a small panel or none with lived experience', () => {
      const twoMembers = send(withPanel(), events.unassign('appraiser-1'));
      expect(expectRefused(twoMembers, events.startReview())).toEqual([
        'The panel needs at least 3 members (it has 2)',
        'At least one panel member must have lived experience of seeking sanctuary',
      ]);
    });

    it('ignores profiles of people who are not on the panel', () => {
      const withoutLivedExperience = run(
        panelForming(),
        ...['appraiser-2', 'appraiser-3', 'appraiser-4'].map((id) => events.assign(id)),
      );
      expect(expectRefused(withoutLivedExperience, events.startReview())).toEqual([
        'At least one panel member must have lived experience of seeking sanctuary',
      ]);
    });

    it('warns, without blocking, when no member is from the local group or CoS staff', () => {
      const snapshot = withPanel();
      const noLocalOrStaff = PROFILES.map((p) => ({ ...p, localGroup: false, cosStaff: false }));
      expect(startReviewWarnings(snapshot.context, events.startReview(noLocalOrStaff))).toEqual([
        'No panel member is from the local City of Sanctuary group or City of Sanctuary UK staff; the panel should include one',
      ]);
      expect(snapshot.can(events.startReview(noLocalOrStaff))).toBe(true);
      expect(startReviewWarnings(snapshot.context, events.startReview())).toEqual([]);
    });
  });

  describe('reviewing', () => {
    it('moves to consensus once every panel member has reviewed', () => {
      const twoReviews = run(reviewing(), events.review('appraiser-1'), events.review('appraiser-2'));
      expect(stateString(twoReviews)).toBe('appraisal.reviewing');
      expect(twoReviews.context.reviewedBy).toEqual(['appraiser-1', 'appraiser-2']);
      const all = send(twoReviews, events.review('appraiser-3'));
      expect(stateString(all)).toBe('appraisal.consensus');
      expect(Object.keys(all.context.reviews)).toEqual(['appraiser-1', 'appraiser-2', 'appraiser-3']);
    });

    it('refuses reviews from outside the panel, twice in a round, or incomplete', () => {
      const snapshot = send(reviewing(), events.review('appraiser-1'));
      expect(expectRefused(snapshot, events.review('appraiser-4'))).toEqual([
        "You are not on this application's panel",
      ]);
      expect(expectRefused(snapshot, events.review('appraiser-1'))).toEqual([
        'You have already submitted your review for round 1',
      ]);
      const incomplete = {
        L1: { judgement: 'met' as const, comment: '' },
        E1: { judgement: 'maybe' as 'met', comment: '' },
        X9: { judgement: 'met' as const, comment: '' },
      };
      expect(expectRefused(snapshot, events.review('appraiser-2', incomplete))).toEqual([
        'Criterion E2 has no judgement yet',
        'Criterion S1 has no judgement yet',
        'The judgement for criterion E1 must be "met" or "not yet"',
        "Criterion X9 is not one of this application's criteria",
      ]);
    });

    it('goes back to panel forming when an unassignment leaves too few members', () => {
      const snapshot = send(send(reviewing(), events.review('appraiser-1')), events.unassign('appraiser-1'));
      expect(stateString(snapshot)).toBe('appraisal.panelForming');
      expect(snapshot.context.panel).toEqual(['appraiser-2', 'appraiser-3']);
      expect(snapshot.context.reviewedBy).toEqual([]);
      expect(snapshot.context.reviews).toEqual({});
    });

    it('stays reviewing when a bigger panel loses a member', () => {
      const four = run(withPanel(), events.assign('appraiser-4'), events.startReview());
      const three = send(four, events.unassign('appraiser-4'));
      expect(stateString(three)).toBe('appraisal.reviewing');
    });

    it('removes a member who declares a conflict, and their review', () => {
      const four = run(
        withPanel(),
        events.assign('appraiser-4'),
        events.startReview(),
        events.review('appraiser-4'),
      );
      const snapshot = send(four, events.declareConflict('appraiser-4'));
      expect(stateString(snapshot)).toBe('appraisal.reviewing');
      expect(snapshot.context.panel).toEqual(APPRAISERS.slice(0, 3));
      expect(snapshot.context.reviewedBy).toEqual([]);
      expect(snapshot.context.declaredConflicts).toEqual([
        {
          userId: 'appraiser-4',
          reason: 'My child attends this school',
          at: NOW,
          by: 'appraiser-4',
          round: 1,
        },
      ]);
    });

    it('goes to consensus when the member who declares a conflict was the last not to review', () => {
      const four = run(
        withPanel(),
        events.assign('appraiser-4'),
        events.startReview(),
        ...APPRAISERS.slice(0, 3).map((id) => events.review(id)),
      );
      expect(stateString(four)).toBe('appraisal.reviewing');
      expect(stateString(send(four, events.declareConflict('appraiser-4')))).toBe('appraisal.consensus');
    });

    it('goes back to panel forming when a conflict leaves too few members', () => {
      expect(stateString(send(reviewing(), events.declareConflict('appraiser-2')))).toBe(
        'appraisal.panelForming',
      );
    });

    it('refuses a conflict declared by someone not on the panel or without a reason', () => {
      expect(expectRefused(reviewing(), events.declareConflict('appraiser-4'))).toEqual([
        "You are not on this application's panel",
      ]);
      expect(expectRefused(reviewing(), events.declareConflict('appraiser-1', ''))).toEqual([
        'Please give a reason for the conflict of interest',
      ]);
    });

    it('does not let the panel change in consensus', () => {
      const snapshot = consensus();
      expect(acceptedApplicationEventTypes(snapshot)).toEqual(['SEND_FEEDBACK', 'DECIDE', 'WITHDRAW']);
      expect(send(snapshot, events.unassign('appraiser-1'))).toBe(snapshot);
    });
  });

  describe('feedback, response and meeting', () => {
    it('sends feedback and questions', () => {
      const snapshot = awaitingResponse();
      expect(stateString(snapshot)).toBe('awaitingResponse');
      expect(snapshot.context.questions).toEqual(['How do pupils shape the sanctuary work?']);
      expect(snapshot.context.feedback?.E2).toEqual({ judgement: 'met', feedback: 'Well shown' });
      expect(canEditAnswers(snapshot)).toBe(true);
      expect(canAddEvidence(snapshot)).toBe(true);
      expect(canDeleteEvidence(snapshot)).toBe(false);
    });

    it('refuses feedback that misses a criterion or has an empty question', () => {
      const { E2: _missing, ...partial } = everyCriterion({ judgement: 'met' as const, feedback: '' });
      expect(expectRefused(consensus(), events.sendFeedback(partial, ['  ']))).toEqual([
        'Criterion E2 has no judgement yet',
        'Every question must have some text',
      ]);
    });

    it('takes one answer per question', () => {
      const snapshot = meeting();
      expect(stateString(snapshot)).toBe('meeting');
      expect(snapshot.context.responses).toEqual(['Through the pupil sanctuary council']);
      expect(expectRefused(awaitingResponse(), events.respond([]))).toEqual([
        'Please give one answer per question (1 question, 0 answers)',
      ]);
      expect(expectRefused(awaitingResponse(), events.respond(['']))).toEqual([
        'Question 1 has no answer yet',
      ]);
    });

    it('schedules, reschedules and records the meeting', () => {
      const scheduled = send(meeting(), events.scheduleMeeting(IN_30_DAYS, 'online'));
      const rescheduled = send(scheduled, events.scheduleMeeting(IN_45_DAYS, 'in_person', 'School hall'));
      expect(rescheduled.context.meeting).toEqual({
        at: IN_45_DAYS,
        mode: 'in_person',
        location: 'School hall',
        heldAt: null,
        notes: null,
      });
      const recorded = send(rescheduled, events.recordMeeting());
      expect(stateString(recorded)).toBe('meeting');
      expect(recorded.context.meeting).toMatchObject({ heldAt: YESTERDAY, notes: 'Met the pupil council' });
    });

    it('refuses an in-person meeting without a place, or recording a meeting not yet held', () => {
      expect(expectRefused(meeting(), events.scheduleMeeting(IN_30_DAYS, 'in_person'))).toEqual([
        'An in-person meeting needs a location',
      ]);
      expect(expectRefused(meeting(), events.recordMeeting(IN_30_DAYS))).toEqual([
        'A meeting can only be recorded once it has been held',
      ]);
    });
  });

  describe('decision', () => {
    it('awards from consensus when every criterion is met', () => {
      const snapshot = send(consensus(), events.decide());
      expect(stateString(snapshot)).toBe('awarded');
      expect(isFinal(snapshot)).toBe(true);
      expect(snapshot.context.decision).toEqual({
        outcome: 'award',
        rationale: 'Every criterion is met',
        criteria: everyCriterion('met'),
        requests: [],
        dueBy: null,
        decidedAt: NOW,
        decidedBy: LEAD,
      });
      expect(acceptedApplicationEventTypes(snapshot)).toEqual([]);
    });

    it('does not award when this round’s feedback asked for further evidence', () => {
      const feedback = { ...everyCriterion({ judgement: 'met' as const, feedback: '' }) } as Record<
        string,
        { judgement: 'met' | 'further_evidence'; feedback: string }
      >;
      feedback.E2 = { judgement: 'further_evidence', feedback: 'Show co-production' };
      const atMeeting = run(consensus(), events.sendFeedback(feedback), events.respond());
      expect(expectRefused(atMeeting, events.decide())).toEqual([
        'Criterion E2 is not met, so the award cannot be made',
      ]);
      // The panel's final judgement overrides the feedback.
      expect(stateString(send(atMeeting, events.decide({ criteria: everyCriterion('met') })))).toBe(
        'awarded',
      );
    });

    it('asks for further evidence by a date', () => {
      const snapshot = furtherEvidenceRequested();
      expect(stateString(snapshot)).toBe('furtherEvidenceRequested');
      expect(snapshot.context.decision).toMatchObject({
        outcome: 'further_evidence',
        requests: [{ criterion: 'E2', request: 'Show how families co-produce the work' }],
        dueBy: IN_30_DAYS,
      });
      expect(pendingApplicationTimers(snapshot)).toEqual([{ eventType: 'LAPSE', dueAt: IN_30_DAYS }]);
      expect(canEditAnswers(snapshot)).toBe(true);
    });

    it('refuses further evidence without requests or a future due date', () => {
      expect(
        expectRefused(
          meeting(),
          events.decide({ outcome: 'further_evidence', requests: [], dueBy: YESTERDAY }),
        ),
      ).toEqual([
        'Please say what further evidence is needed',
        'The due date for further evidence must be in the future',
      ]);
      expect(
        expectRefused(
          meeting(),
          events.decide({ outcome: 'further_evidence', requests: [{ criterion: 'Z1', request: 'x' }] }),
        ),
      ).toEqual([
        "Criterion Z1 is not one of this application's criteria",
        'The due date for further evidence is missing or not a valid date',
      ]);
    });

    it('refuses a decision without a rationale', () => {
      expect(expectRefused(consensus(), events.decide({ rationale: '' }))).toEqual([
        'Please give the reasons for the decision',
      ]);
    });

    it('does not award', () => {
      const snapshot = send(
        meeting(),
        events.decide({ outcome: 'not_awarded', rationale: 'Not yet embedded' }),
      );
      expect(stateString(snapshot)).toBe('notAwarded');
    });
  });

  describe('further evidence', () => {
    it('resubmits into a new round with the same panel', () => {
      const before = furtherEvidenceRequested();
      const snapshot = send(before, events.resubmit(['E2', 'L1']));
      expect(stateString(snapshot)).toBe('appraisal.reviewing');
      expect(snapshot.context).toMatchObject({
        round: 2,
        panel: APPRAISERS.slice(0, 3),
        reviewedBy: [],
        reviews: {},
        feedback: null,
        questions: [],
        responses: null,
        meeting: null,
        decision: null,
      });
      expect(snapshot.context.rounds).toHaveLength(1);
      expect(snapshot.context.rounds[0]).toMatchObject({
        round: 1,
        decision: before.context.decision,
        questions: before.context.questions,
      });
      expect(Object.keys(snapshot.context.rounds[0].reviews)).toHaveLength(3);
      const reviewedAgain = run(snapshot, ...APPRAISERS.slice(0, 3).map((id) => events.review(id)));
      expect(stateString(reviewedAgain)).toBe('appraisal.consensus');
    });

    it('refuses a resubmission without new evidence for each requested criterion', () => {
      expect(expectRefused(furtherEvidenceRequested(), events.resubmit(['L1']))).toEqual([
        'Criterion E2 has no new evidence since the decision',
      ]);
    });

    it('extends the deadline, so that the old timer no longer lapses it', () => {
      const extended = send(furtherEvidenceRequested(), events.extendDeadline(IN_45_DAYS));
      expect(extended.context.decision?.dueBy).toBe(IN_45_DAYS);
      expect(expectRefused(extended, events.lapse(IN_30_DAYS))).toEqual([
        'The due date for further evidence (25 December 2026) has not passed yet',
      ]);
      const lapsed = send(extended, events.lapse(IN_45_DAYS));
      expect(stateString(lapsed)).toBe('lapsed');
      expect(lapsed.context.lapsedAt).toBe(IN_45_DAYS);
      expect(expectRefused(extended, events.extendDeadline(YESTERDAY))).toEqual([
        'The new due date must be in the future',
      ]);
    });
  });

  describe('withdrawal', () => {
    it('withdraws from every non-final state', () => {
      for (const build of [
        start,
        submitted,
        panelForming,
        reviewing,
        consensus,
        awaitingResponse,
        meeting,
        furtherEvidenceRequested,
      ]) {
        const snapshot = send(build(), events.withdraw());
        expect(stateString(snapshot)).toBe('withdrawn');
        expect(snapshot.context.withdrawal).toEqual({
          reason: 'We will apply next year',
          at: NOW,
          by: APPLICANT,
        });
      }
    });

    it('needs a reason', () => {
      expect(expectRefused(start(), events.withdraw(APPLICANT, ''))).toEqual([
        'Please give a reason for withdrawing the application',
      ]);
    });
  });

  describe('evidence and answers', () => {
    it('allows deleting evidence only in a draft never submitted', () => {
      expect(canDeleteEvidence(start())).toBe(true);
      expect(canEditAnswers(start())).toBe(true);
      expect(canDeleteEvidence(submitted())).toBe(false);
      expect(canEditAnswers(submitted())).toBe(false);
      expect(canAddEvidence(reviewing())).toBe(false);
    });
  });

  describe('preview (blockers for the events a caller could send now)', () => {
    const preview = <T extends ApplicationEventType>(type: T, extraFacts: object = {}, actorId = LEAD) =>
      ({ type, facts: { actorId, now: NOW, preview: true, ...extraFacts } }) as unknown as PreviewEvent<
        Extract<ApplicationEvent, { type: T }>
      >;

    it('skips payload checks', () => {
      const snapshot = reviewing();
      expect(applicationBlockers.WITHDRAW(snapshot.context, preview('WITHDRAW'))).toEqual([]);
      expect(applicationBlockers.ASSIGN_APPRAISER(withPanel().context, preview('ASSIGN_APPRAISER'))).toEqual(
        [],
      );
      expect(applicationBlockers.DECIDE(consensus().context, preview('DECIDE'))).toEqual([]);
      expect(applicationBlockers.RESPOND(awaitingResponse().context, preview('RESPOND'))).toEqual([]);
      expect(
        applicationBlockers.UNASSIGN_APPRAISER(panelForming().context, preview('UNASSIGN_APPRAISER')),
      ).toEqual(['Nobody is on the panel yet']);
    });

    it('still checks facts and who is acting', () => {
      const snapshot = send(reviewing(), events.review('appraiser-1'));
      expect(
        applicationBlockers.SUBMIT_REVIEW(snapshot.context, preview('SUBMIT_REVIEW', {}, 'appraiser-1')),
      ).toEqual(['You have already submitted your review for round 1']);
      expect(
        applicationBlockers.SUBMIT_REVIEW(snapshot.context, preview('SUBMIT_REVIEW', {}, 'appraiser-2')),
      ).toEqual([]);
      expect(
        applicationBlockers.SUBMIT(
          start().context,
          preview('SUBMIT', {
            pledgeSigned: false,
            missingAnswers: [],
            missingEvidence: ['S1'],
            routeAvailable: true,
          }),
        ),
      ).toEqual(['The City of Sanctuary pledge has not been signed', 'Criterion S1 has no evidence yet']);
      expect(
        applicationBlockers.START_REVIEW(
          withPanel().context,
          preview('START_REVIEW', { panelProfiles: PROFILES }),
        ),
      ).toEqual([]);
      expect(
        applicationBlockers.LAPSE(furtherEvidenceRequested().context, preview('LAPSE', {}, 'system')),
      ).toEqual(['The due date for further evidence (10 December 2026) has not passed yet']);
    });
  });

  it('names who may send each event', () => {
    expect(Object.keys(applicationEventRoles).sort()).toEqual([...APPLICATION_EVENT_TYPES].sort());
    expect(Object.keys(applicationBlockers).sort()).toEqual([...APPLICATION_EVENT_TYPES].sort());
    expect(applicationEventRoles.SUBMIT_REVIEW).toEqual(['appraiser']);
    expect(applicationEventRoles.LAPSE).toEqual(['system']);
    expect(applicationEventRoles.WITHDRAW).toEqual(['applicant', 'lead', 'admin']);
  });
});

// ---------------------------------------------------------------------------------------------------
// Model-based: explore the machine with valid events, then throw every event type at every state.

/** Valid events for a snapshot: what a well-behaved server would send. */
function candidateEvents(snapshot: ApplicationSnapshot): ApplicationEvent[] {
  const { panel, reviewedBy, questions } = snapshot.context;
  return [
    events.submit(),
    events.accept(),
    events.return(),
    ...APPRAISERS.filter((id) => !panel.includes(id)).map((id) => events.assign(id)),
    ...panel.map((id) => events.unassign(id)),
    events.startReview(),
    ...panel.filter((id) => !reviewedBy.includes(id)).map((id) => events.review(id)),
    ...panel.map((id) => events.declareConflict(id)),
    events.sendFeedback(),
    events.respond(questions.map((_q, i) => `Answer ${i + 1}`)),
    events.scheduleMeeting(),
    events.recordMeeting(),
    events.decide(),
    events.decideFurtherEvidence(),
    events.decide({ outcome: 'not_awarded' }),
    events.resubmit(),
    events.extendDeadline(),
    events.lapse(),
    events.withdraw(),
  ];
}

/** A finite abstraction of the state: the state plus who is on the panel and who has reviewed. */
function abstractState(snapshot: ApplicationSnapshot): string {
  const { panel, reviewedBy, round } = snapshot.context;
  return JSON.stringify([stateString(snapshot), [...panel].sort(), [...reviewedBy].sort(), round > 1]);
}

const leafStates = getStateNodes(applicationMachine.root)
  .filter((node) => node.type === 'atomic' || node.type === 'final')
  .map((node) => node.path.join('.'));

const paths = getShortestPaths(applicationMachine, {
  input: { criteriaCodes: CODES, minPanelSize: 3 },
  events: candidateEvents,
  serializeState: abstractState,
});

describe('application machine (model-based)', () => {
  it('reaches every state, final ones included', () => {
    const reached = new Set(paths.map((path) => stateString(path.state)));
    expect([...reached].sort()).toEqual([...leafStates].sort());
    for (const final of ['awarded', 'notAwarded', 'withdrawn', 'lapsed']) expect(reached).toContain(final);
  });

  it('handles or refuses every event type in every reachable state', () => {
    for (const { state } of paths) {
      const accepted = acceptedEventTypes(state);
      for (const event of candidateEvents(state)) {
        const next = send(state, event);
        const allowed = state.can(event);
        if (!accepted.includes(event.type)) {
          expect({ state: stateString(state), event: event.type, allowed }).toEqual({
            state: stateString(state),
            event: event.type,
            allowed: false,
          });
        }
        if (allowed) {
          expect(next).not.toBe(state);
          expect(applicationEventBlockers(state.context, event)).toEqual([]);
        } else {
          expect(next).toBe(state);
        }
      }
      // An event type with no transition here is refused whatever its content.
      for (const type of APPLICATION_EVENT_TYPES.filter((t) => !accepted.includes(t))) {
        const event = { type, facts: { actorId: LEAD, now: NOW } } as ApplicationEvent;
        expect(state.can(event)).toBe(false);
        expect(send(state, event)).toBe(state);
      }
    }
  });

  it('round-trips every reachable state through JSON', () => {
    for (const { state } of paths) {
      const stored = JSON.stringify(persistApplicationSnapshot(state));
      const revived = reviveApplicationSnapshot(JSON.parse(stored));
      expect(stateString(revived)).toBe(stateString(state));
      expect(revived.context).toEqual(state.context);
      expect(revived.status).toBe(state.status);
      expect(acceptedEventTypes(revived)).toEqual(acceptedEventTypes(state));
      for (const event of candidateEvents(state)) {
        expect(revived.can(event)).toBe(state.can(event));
        expect(abstractState(send(revived, event))).toBe(abstractState(send(state, event)));
      }
    }
  });
});

describe('application persistence', () => {
  const fixture = JSON.parse(
    readFileSync(new URL('./fixtures/application-v1-reviewing-round-2.json', import.meta.url), 'utf8'),
  );

  it('revives a snapshot stored by version 1 in appraisal.reviewing, round 2', () => {
    expect(fixture.machineVersion).toBe(APPLICATION_MACHINE_VERSION);
    const snapshot = reviveApplicationSnapshot(fixture.snapshot);
    expect(stateString(snapshot)).toBe('appraisal.reviewing');
    expect(snapshot.context.round).toBe(2);
    expect(acceptedApplicationEventTypes(snapshot)).toEqual([
      'UNASSIGN_APPRAISER',
      'SUBMIT_REVIEW',
      'DECLARE_CONFLICT',
      'WITHDRAW',
    ]);
  });

  it('advances the revived snapshot to consensus and a decision', () => {
    const snapshot = reviveApplicationSnapshot(JSON.stringify(fixture.snapshot));
    const { criteriaCodes, panel, reviewedBy } = snapshot.context;
    const allMet = Object.fromEntries(
      criteriaCodes.map((code) => [code, { judgement: 'met' as const, comment: '' }]),
    );
    expect(reviewedBy).toHaveLength(1);
    expect(expectRefused(snapshot, events.review(reviewedBy[0], allMet))).toEqual([
      'You have already submitted your review for round 2',
    ]);
    const remaining = panel.filter((id) => !reviewedBy.includes(id));
    const atConsensus = run(snapshot, ...remaining.map((id) => events.review(id, allMet)));
    expect(stateString(atConsensus)).toBe('appraisal.consensus');
    const awarded = send(atConsensus, events.decide());
    expect(stateString(awarded)).toBe('awarded');
    expect(awarded.context.rounds).toHaveLength(1);
  });
});

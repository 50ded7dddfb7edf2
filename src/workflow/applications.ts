import { initialTransition } from 'xstate';
import {
  APPLICATION_EVENT_TYPES,
  APPLICATION_MACHINE_VERSION,
  type ApplicationSnapshot,
  applicationEventBlockers,
  applicationEventRoles,
  applicationMachine,
  applicationStatusOf,
  isFinal,
  persistApplicationSnapshot,
  snapshotJson,
  startReviewWarnings,
  stateString,
} from '../../workflows/index.ts';
import { appendApplicationHistory, type HistoryEntry, historyValues } from '../applications/history.ts';
import {
  type ApplicationAccess,
  type ApplicationDetails,
  type ApplicationRow,
  type GuardFactName,
  type GuardFacts,
  loadApplicationAccess,
  loadApplicationForView,
  loadAssigneeFacts,
  loadGuardFacts,
  lockApplicationForView,
} from '../applications/repository.ts';
import type { DbOrTrx } from '../db/index.ts';
import { appraiserWithinAssignerReach } from '../domain/access.ts';
import { finishRenewal, startAward } from './awards.ts';
import { saveTransition } from './save.ts';
import { statesAccepting } from './states.ts';
import type { HistoryLine, Loaded, WorkflowActor, WorkflowDefinition } from './types.ts';

/** The row a transition works on; locked for a transition, it comes with its view's details (see sendEvent). */
export type WorkflowApplicationRow = ApplicationRow & { details?: ApplicationDetails };
export type LoadedApplication = Loaded<ApplicationSnapshot, WorkflowApplicationRow>;

// The national team runs the appraisal where no local lead exists (SPEC §2).
const NATIONAL_ROUTE_NATIONS = new Set(['wales', 'scotland']);

/** The guard facts (src/applications/repository.ts) each event type's guards read from the database. */
const GUARD_FACTS_OF: Partial<Record<string, GuardFactName[]>> = {
  SUBMIT: ['pledge_signed', 'answered_codes', 'evidence_counts', 'area'],
  START_REVIEW: ['panel_profiles'],
  RESUBMIT: ['criteria_with_new_evidence'],
};

/** Whether the guards of this event type read facts from the database. */
export const readsGuardFacts = (type: string) => GUARD_FACTS_OF[type] !== undefined;

/**
 * The states in which a view reads each guard fact: those accepting an event whose guard reads it, so
 * the preview of allowedEvents and blockers comes from the view's own query.
 */
export const GUARD_FACT_STATES: ReadonlyMap<GuardFactName, readonly string[]> = (() => {
  const accepting = statesAccepting(applicationMachine);
  const states = new Map<GuardFactName, string[]>();
  for (const [type, names] of Object.entries(GUARD_FACTS_OF)) {
    for (const name of names ?? [])
      states.set(name, [...new Set([...(states.get(name) ?? []), ...(accepting.get(type) ?? [])])]);
  }
  return states;
})();

const NO_GUARD_FACTS: ReadonlyMap<GuardFactName, readonly string[]> = new Map();

/** The facts SPEC §4's guards of one event type read, from the guard facts read from the database. */
export function guardFactsFor(
  type: string,
  facts: GuardFacts,
  context: ApplicationSnapshot['context'],
): Record<string, unknown> {
  switch (type) {
    case 'SUBMIT': {
      const answered = new Set(facts.answered_codes ?? []);
      const withEvidence = facts.evidence_counts ?? {};
      const area = facts.area;
      return {
        pledgeSigned: Boolean(facts.pledge_signed),
        missingAnswers: context.criteriaCodes.filter((c) => !answered.has(c)),
        missingEvidence: context.criteriaCodes.filter((c) => !withEvidence[c]),
        routeAvailable: Boolean(
          area && ((area.active && area.hasLead) || NATIONAL_ROUTE_NATIONS.has(area.nation)),
        ),
      };
    }
    case 'START_REVIEW':
      return { panelProfiles: facts.panel_profiles ?? [] };
    case 'RESUBMIT':
      return { criteriaWithNewEvidence: facts.criteria_with_new_evidence ?? [] };
    default:
      return {};
  }
}

/** The facts SPEC §4's guards need for this event, computed from the database in one statement. */
async function applicationFacts(
  db: DbOrTrx,
  loaded: LoadedApplication,
  type: string,
  payload: Record<string, unknown>,
  actor: WorkflowActor,
): Promise<Record<string, unknown>> {
  const names = GUARD_FACTS_OF[type];
  if (names) return guardFactsFor(type, await loadGuardFacts(db, loaded.id, names), loaded.snapshot.context);
  if (type !== 'ASSIGN_APPRAISER') return {};
  const userId = typeof payload.userId === 'string' ? payload.userId : undefined;
  if (!userId) return {};
  const assignee = await loadAssigneeFacts(db, userId, loaded.row.organisation_id);
  return {
    isAppraiser: assignee.is_appraiser,
    isOrganisationMember: assignee.is_member,
    hasConflict: assignee.has_conflict,
    appraiserWithinAssignerReach: appraiserWithinAssignerReach(actor, assignee.home_area_id ?? null),
  };
}

const asLoaded = ({
  application,
  snapshot,
  relations,
  details,
}: ApplicationAccess & { details?: ApplicationDetails }): LoadedApplication => ({
  id: application.id,
  row: details ? { ...application, details } : application,
  snapshot,
  version: application.version,
  relations,
});

const applicationLine = (e: HistoryLine): HistoryEntry => ({
  applicationId: e.id,
  type: e.type,
  actorId: e.actorId,
  from: e.from,
  to: e.to,
  payload: e.payload,
  snapshot: e.snapshot,
  version: e.version,
  at: e.at,
});

export const applicationWorkflow: WorkflowDefinition<ApplicationSnapshot, WorkflowApplicationRow> = {
  name: 'application',
  machine: applicationMachine,
  eventTypes: APPLICATION_EVENT_TYPES,
  eventRoles: applicationEventRoles,
  load: async (db, id, actor) => asLoaded(await loadApplicationAccess(db, actor, id)),
  // With the view's details: the transition answers with the view (src/applications/service.ts). Not
  // with the guard facts: the event's own are read by `facts`, and a new state whose events read any
  // is read again for its preview; each fact's subquery cost Postgres time at every execution.
  lock: async (trx, id, actor) => asLoaded(await lockApplicationForView(trx, actor, id, NO_GUARD_FACTS)),
  unlocked: {
    read: async (db, id, actor) => asLoaded(await loadApplicationForView(db, actor, id, NO_GUARD_FACTS)),
    factsReadDatabase: (type) => readsGuardFacts(type) || type === 'ASSIGN_APPRAISER',
    // What afterTransition may write on: a declared conflict, a change of status (an award, a renewal's end).
    writesAfter: ({ before, after, event }) =>
      event.type === 'DECLARE_CONFLICT' || applicationStatusOf(after) !== before.row.status,
  },
  facts: (db, loaded, type, payload, actor) => applicationFacts(db, loaded, type, payload, actor),
  blockers: (context, event) => applicationEventBlockers(context, event as never),
  warnings: (context, event) =>
    event.type === 'START_REVIEW' ? startReviewWarnings(context, event as never) : [],
  persist: (snapshot) => snapshotJson(snapshot),
  async save(db, loaded, next, history, outbox) {
    return saveTransition(db, 'application', {
      ...outbox,
      line: historyValues(applicationLine(history)),
      set: {
        snapshot: history.snapshot,
        state: stateString(next),
        status: applicationStatusOf(next),
        round: next.context.round,
        machine_version: APPLICATION_MACHINE_VERSION,
        version: history.version,
        updated_at: history.at,
      },
      where: { id: loaded.id, version: loaded.version },
    });
  },
  appendHistory: (db, e) => appendApplicationHistory(db, applicationLine(e)),
  async afterTransition(db, { before, after, event }, _actor, now) {
    const app = before.row;
    if (event.type === 'DECLARE_CONFLICT') {
      // Remembered so the person is never assigned to this organisation again.
      await db
        .insertInto('conflicts')
        .values({
          user_id: event.facts.actorId,
          organisation_id: app.organisation_id,
          reason: String(event.reason ?? ''),
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    const status = applicationStatusOf(after);
    if (status === before.row.status) return;
    if (status === 'awarded') {
      const awardId = await startAward(db, { application: app, now });
      if (app.previous_award_id)
        await finishRenewal(db, app.previous_award_id, { renewed: true, newAwardId: awardId, now });
    } else if (isFinal(after) && app.previous_award_id) {
      await finishRenewal(db, app.previous_award_id, { renewed: false, now });
    }
  },
};

/** Creates a draft application pinned to the stream's current criteria set. */
export async function startApplication(
  db: DbOrTrx,
  input: {
    organisationId: string;
    streamId: string;
    kind: 'initial' | 'renewal';
    createdBy: string | null;
    previousAwardId?: string | null;
    now?: Date;
  },
): Promise<{ id: string; criteriaSetId: string; criteriaCodes: string[] }> {
  const stream = await db
    .selectFrom('streams')
    .innerJoin('criteria_sets', 'criteria_sets.stream_id', 'streams.id')
    .select(['streams.min_panel_size', 'criteria_sets.id as criteria_set_id'])
    .where('streams.id', '=', input.streamId)
    .orderBy('criteria_sets.version', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  const criteria = await db
    .selectFrom('criteria')
    .select('code')
    .where('criteria_set_id', '=', stream.criteria_set_id)
    .orderBy('position')
    .execute();
  const criteriaCodes = criteria.map((c) => c.code);
  const [snapshot] = initialTransition(applicationMachine, {
    criteriaCodes,
    minPanelSize: stream.min_panel_size,
  });
  const persisted = persistApplicationSnapshot(snapshot);
  const now = input.now ?? new Date();
  const { id } = await db
    .insertInto('applications')
    .values({
      organisation_id: input.organisationId,
      stream_id: input.streamId,
      criteria_set_id: stream.criteria_set_id,
      kind: input.kind,
      previous_award_id: input.previousAwardId ?? null,
      state: stateString(snapshot),
      status: applicationStatusOf(snapshot),
      round: snapshot.context.round,
      snapshot: JSON.stringify(persisted),
      machine_version: APPLICATION_MACHINE_VERSION,
      version: 1,
      created_by: input.createdBy,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendApplicationHistory(db, {
    applicationId: id,
    type: 'CREATED',
    actorId: input.createdBy,
    from: null,
    to: stateString(snapshot),
    payload: {
      kind: input.kind,
      criteriaSetId: stream.criteria_set_id,
      ...(input.previousAwardId ? { previousAwardId: input.previousAwardId } : {}),
    },
    snapshot: persisted as unknown as Record<string, unknown>,
    version: 1,
    at: now,
  });
  return { id, criteriaSetId: stream.criteria_set_id, criteriaCodes };
}

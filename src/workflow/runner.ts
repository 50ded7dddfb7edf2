import type { AnyMachineSnapshot } from 'xstate';
import { transition } from 'xstate';
import { acceptedEventTypes, stateString } from '../../workflows/index.ts';
import type { Db, DbOrTrx, Trx } from '../db/index.ts';
import { eventsForCaller } from '../domain/access.ts';
import { DomainError, forbidden, validationFailed } from '../domain/errors.ts';
import { transitionEffects } from '../jobs/effects.ts';
import { scheduleTimers, type TimerEntity } from '../jobs/timers.ts';
import type {
  HistoryLine,
  Loaded,
  MachineEvent,
  TransitionRequest,
  TransitionResult,
  WorkflowActor,
  WorkflowDefinition,
} from './types.ts';

/**
 * The one transition path (ARCHITECTURE.md): load and lock the row → revive the snapshot → check the
 * caller's role → check the version → check the state accepts the event → compute guard facts from the
 * database → check blockers → transition → persist snapshot, state and version → append history →
 * run the effects, all in the caller's transaction. Nothing else writes a workflow state.
 */

/**
 * For each event this caller could send now: allowed, or the reasons it is blocked (for responses).
 * `factsOf` gives each event's guard facts, read with the entity (no statement of its own).
 */
export function previewEvents<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  loaded: Loaded<S, Row>,
  actor: WorkflowActor,
  factsOf: (type: string) => Record<string, unknown>,
  now = new Date(),
): { allowedEvents: string[]; blockers: Record<string, string[]> } {
  const allowedEvents: string[] = [];
  const blockers: Record<string, string[]> = {};
  const base = {
    actorId: actor === 'system' ? 'system' : actor.userId,
    now: now.toISOString(),
    preview: true,
  };
  for (const type of eventsForCaller(def, loaded)) {
    const reasons = def.blockers(loaded.snapshot.context, { type, facts: { ...base, ...factsOf(type) } });
    if (reasons.length) blockers[type] = reasons;
    else allowedEvents.push(type);
  }
  return { allowedEvents, blockers };
}

export async function runTransition<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  trx: Trx,
  request: TransitionRequest,
): Promise<TransitionResult<S, Row>> {
  const now = request.now ?? new Date();
  const loaded = await def.lock(trx, request.id, request.actor);
  const decided = await decide(def, trx, loaded, request, now);
  // Under the row's lock nobody else's event can come first.
  if (!(await save(def, trx, decided))) throw new Error(`The locked ${def.name} changed meanwhile`);
  await afterSave(def, trx, decided, request.actor, now);
  return decided.result;
}

/** Unlocked attempts of an event before it falls back to the locked path (see sendTransition). */
const UNLOCKED_ATTEMPTS = 3;

/**
 * An event from a person, in its own transaction: the one transition path, decided on the row as read
 * and saved only if the row is still at the version it was decided on (optimistic concurrency). When
 * another event came first, it is decided again on the new state: it may no longer apply (409), or a
 * stale If-Match answers 412, exactly as under a lock. Saving is one statement, so a transition is two
 * round trips where a locked one is four. Events that need more than that statement run the locked
 * path from the start or once decided: guards that read other tables (their facts must hold when the
 * state is written), timers to schedule, writes after the transition (an award, a conflict).
 */
export async function sendTransition<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  db: Db,
  request: TransitionRequest,
): Promise<TransitionResult<S, Row>> {
  const unlocked = def.unlocked;
  if (unlocked && !unlocked.factsReadDatabase(request.event.type)) {
    for (let attempt = 0; attempt < UNLOCKED_ATTEMPTS; attempt++) {
      const now = request.now ?? new Date();
      const loaded = await unlocked.read(db, request.id, request.actor);
      const decided = await decide(def, db, loaded, request, now);
      if (decided.effects.timers || unlocked.writesAfter(decided.result)) break;
      if (await save(def, db, decided)) return decided.result;
    }
  }
  return db.transaction().execute((trx) => runTransition(def, trx, request));
}

type Decided<S, Row> = {
  result: TransitionResult<S, Row>;
  history: HistoryLine & { snapshot: string };
  effects: ReturnType<typeof transitionEffects>;
};

/**
 * Everything a transition decides before it writes: check the caller's role, the version, that the
 * state accepts the event, compute the guard facts, check the blockers, transition, and the effects.
 */
async function decide<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  db: DbOrTrx,
  loaded: Loaded<S, Row>,
  request: TransitionRequest,
  now: Date,
): Promise<Decided<S, Row>> {
  const { type, ...payload } = request.event;
  if (!def.eventTypes.includes(type)) {
    throw validationFailed(`${type} is not an ${def.name} event; one of ${def.eventTypes.join(', ')}`);
  }
  const roles = def.eventRoles[type];
  if (!roles.some((role) => loaded.relations.has(role))) {
    const who = roles.map((r) =>
      r === 'system' ? 'the system' : r === 'appraiser' ? 'a panel appraiser' : `the ${r}`,
    );
    throw forbidden(`${type} is sent by ${who.join(' or ')}`);
  }
  if (request.expectedVersion !== undefined && request.expectedVersion !== loaded.version) {
    throw new DomainError(
      'version-mismatch',
      `The ${def.name} is at version ${loaded.version}, not ${request.expectedVersion}; read it again`,
      {
        currentVersion: loaded.version,
      },
    );
  }
  const from = stateString(loaded.snapshot);
  if (!acceptedEventTypes(loaded.snapshot).includes(type)) {
    throw new DomainError('illegal-transition', `${type} does not apply while the ${def.name} is ${from}`, {
      state: from,
      allowedEvents: eventsForCaller(def, loaded),
    });
  }

  const actorId = request.actor === 'system' ? 'system' : request.actor.userId;
  const facts = {
    actorId,
    now: now.toISOString(),
    ...(await def.facts(db, loaded, type, payload, request.actor)),
    ...request.extraFacts,
  };
  const event: MachineEvent = { ...payload, type, facts };
  const blockers = def.blockers(loaded.snapshot.context, event);
  if (blockers.length) throw new DomainError('guard-failed', blockers.join(' '), { blockers });

  const [next] = transition(def.machine, loaded.snapshot, event as never) as [S, unknown];
  if (next === loaded.snapshot) {
    // The machine refused although no blocker was reported: a bug in a guard, never the client's input.
    throw new DomainError('guard-failed', `${type} was refused by the ${def.name} workflow`, {
      blockers: [],
    });
  }
  const version = loaded.version + 1;
  const warnings = def.warnings?.(loaded.snapshot.context, event) ?? [];
  const result = { before: loaded, after: next, version, event };
  return {
    result,
    history: {
      id: loaded.id,
      type,
      actorId: request.actor === 'system' ? null : request.actor.userId,
      from,
      to: stateString(next),
      payload: { ...payload, ...(warnings.length ? { warnings } : {}) },
      // Serialised once, for the row and for its history line.
      snapshot: def.persist(next),
      version,
      at: now,
    },
    // Timers of the new state, the notification event and webhook deliveries: in this same transaction,
    // the outbox rows in the very statement that saves the state and its history line (src/jobs).
    effects: transitionEffects(def.name as TimerEntity, result as never, request.actor, now),
  };
}

/** The new state, its history line and its outbox rows, if the row is still at the version decided on. */
function save<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  db: DbOrTrx,
  { result, history, effects }: Decided<S, Row>,
): Promise<boolean> {
  return def.save(db, result.before, result.after, history, effects.outbox);
}

/** What a saved transition writes besides: its workflow's own effects, then its timers. */
async function afterSave<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  trx: Trx,
  { result, effects }: Decided<S, Row>,
  actor: WorkflowActor,
  now: Date,
): Promise<void> {
  await def.afterTransition?.(trx, result, actor, now);
  if (effects.timers) await scheduleTimers(trx, def.name as TimerEntity, result.before.id, effects.timers);
}

import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { transition } from 'xstate';
import { acceptedEventTypes, type EventRole, stateString } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';
import type { Principal } from '../http/auth.ts';
import { forbidden, Problem, validationFailed } from '../http/problem.ts';
import { recordTransitionEffects } from '../jobs/effects.ts';

/**
 * The one transition path (ARCHITECTURE.md): load and lock the row → revive the snapshot → check the
 * caller's role → check the version → check the state accepts the event → compute guard facts from the
 * database → check blockers → transition → persist snapshot, state and version → append history →
 * run the effects, all in the caller's transaction. Nothing else writes a workflow state.
 */

export type WorkflowActor = Principal | 'system';

export type Loaded<S, Row> = {
  id: string;
  row: Row;
  snapshot: S;
  version: number;
  relations: Set<EventRole>;
};

export type MachineEvent = {
  type: string;
  facts: Record<string, unknown> & { actorId: string; now: string };
  [k: string]: unknown;
};

export type TransitionResult<S, Row> = {
  before: Loaded<S, Row>;
  after: S;
  version: number;
  event: MachineEvent;
};

export interface WorkflowDefinition<S extends AnyMachineSnapshot, Row> {
  /** 'application' or 'award', for messages. */
  name: string;
  machine: AnyStateMachine;
  eventTypes: readonly string[];
  eventRoles: Record<string, readonly EventRole[]>;
  /** Loads the row (locked with `forUpdate`) with the caller's relations; throws 404 out of scope. */
  load(db: DbOrTrx, id: string, actor: WorkflowActor, forUpdate: boolean): Promise<Loaded<S, Row>>;
  /** The server-computed facts the event's guards read (never taken from the client). */
  facts(
    db: DbOrTrx,
    loaded: Loaded<S, Row>,
    type: string,
    payload: Record<string, unknown>,
    preview: boolean,
  ): Promise<Record<string, unknown>>;
  blockers(context: S['context'], event: MachineEvent): string[];
  /** Non-blocking warnings recorded with the event (e.g. a panel without a local-group member). */
  warnings?(context: S['context'], event: MachineEvent): string[];
  persist(snapshot: S): Record<string, unknown>;
  save(
    db: DbOrTrx,
    loaded: Loaded<S, Row>,
    next: S,
    persisted: Record<string, unknown>,
    version: number,
    now: Date,
  ): Promise<void>;
  appendHistory(
    db: DbOrTrx,
    entry: {
      id: string;
      type: string;
      actorId: string | null;
      from: string;
      to: string;
      payload: Record<string, unknown>;
      snapshot: Record<string, unknown>;
      version: number;
      at: Date;
    },
  ): Promise<void>;
  /** Effects of reaching the new state, in the same transaction (e.g. creating an award). */
  afterTransition?(
    db: DbOrTrx,
    result: TransitionResult<S, Row>,
    actor: WorkflowActor,
    now: Date,
  ): Promise<void>;
}

export type TransitionRequest = {
  id: string;
  /** The client's event: its type and payload. */
  event: { type: string } & Record<string, unknown>;
  actor: WorkflowActor;
  /** From If-Match: the version the client last read; a stale one answers 412. */
  expectedVersion?: number;
  /** Facts passed by the server itself (e.g. the award a renewal created), merged over the computed ones. */
  extraFacts?: Record<string, unknown>;
  now?: Date;
};

/** The event types this caller could send in this state, whatever the guards say. */
export function eventsForCaller<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  loaded: Loaded<S, Row>,
) {
  const accepted = acceptedEventTypes(loaded.snapshot);
  return def.eventTypes.filter(
    (type) =>
      accepted.includes(type) &&
      def.eventRoles[type].some((role) => role !== 'system' && loaded.relations.has(role)),
  );
}

/** For each event this caller could send now: allowed, or the reasons it is blocked (for responses). */
export async function previewEvents<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  db: DbOrTrx,
  loaded: Loaded<S, Row>,
  actorId: string,
  now = new Date(),
): Promise<{ allowedEvents: string[]; blockers: Record<string, string[]> }> {
  const allowedEvents: string[] = [];
  const blockers: Record<string, string[]> = {};
  for (const type of eventsForCaller(def, loaded)) {
    const facts = {
      actorId,
      now: now.toISOString(),
      preview: true,
      ...(await def.facts(db, loaded, type, {}, true)),
    };
    const reasons = def.blockers(loaded.snapshot.context, { type, facts });
    if (reasons.length) blockers[type] = reasons;
    else allowedEvents.push(type);
  }
  return { allowedEvents, blockers };
}

export async function runTransition<S extends AnyMachineSnapshot, Row>(
  def: WorkflowDefinition<S, Row>,
  trx: DbOrTrx,
  request: TransitionRequest,
): Promise<TransitionResult<S, Row>> {
  const now = request.now ?? new Date();
  const { type, ...payload } = request.event;
  const loaded = await def.load(trx, request.id, request.actor, true);

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
    throw new Problem(
      'version-mismatch',
      `The ${def.name} is at version ${loaded.version}, not ${request.expectedVersion}; read it again`,
      {
        currentVersion: loaded.version,
      },
    );
  }
  const from = stateString(loaded.snapshot);
  if (!acceptedEventTypes(loaded.snapshot).includes(type)) {
    throw new Problem('illegal-transition', `${type} does not apply while the ${def.name} is ${from}`, {
      state: from,
      allowedEvents: eventsForCaller(def, loaded),
    });
  }

  const actorId = request.actor === 'system' ? 'system' : request.actor.userId;
  const facts = {
    actorId,
    now: now.toISOString(),
    ...(await def.facts(trx, loaded, type, payload, false)),
    ...request.extraFacts,
  };
  const event: MachineEvent = { ...payload, type, facts };
  const blockers = def.blockers(loaded.snapshot.context, event);
  if (blockers.length) throw new Problem('guard-failed', blockers.join(' '), { blockers });

  const [next] = transition(def.machine, loaded.snapshot, event as never) as [S, unknown];
  if (next === loaded.snapshot) {
    // The machine refused although no blocker was reported: a bug in a guard, never the client's input.
    throw new Problem('guard-failed', `${type} was refused by the ${def.name} workflow`, { blockers: [] });
  }
  const persisted = def.persist(next);
  const version = loaded.version + 1;
  await def.save(trx, loaded, next, persisted, version, now);
  const warnings = def.warnings?.(loaded.snapshot.context, event) ?? [];
  await def.appendHistory(trx, {
    id: loaded.id,
    type,
    actorId: request.actor === 'system' ? null : request.actor.userId,
    from,
    to: stateString(next),
    payload: { ...payload, ...(warnings.length ? { warnings } : {}) },
    snapshot: persisted,
    version,
    at: now,
  });
  const result = { before: loaded, after: next, version, event };
  await def.afterTransition?.(trx, result, request.actor, now);
  // Timers of the new state, notifications and webhook deliveries: in this same transaction (src/jobs).
  await recordTransitionEffects(
    trx,
    def.name as 'application' | 'award',
    result as never,
    request.actor,
    now,
  );
  return result;
}

import type { Insertable } from 'kysely';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { EventRole } from '../../workflows/index.ts';
import type { DbOrTrx, Trx } from '../db/index.ts';
import type { NotificationEventsTable } from '../db/schema.ts';
import type { WorkflowActor } from '../domain/principal.ts';
import type { WebhookRow } from '../webhooks/outbox.ts';

/** The shapes the one transition path (runner.ts) works with, shared by both workflows and the job effects. */

export type { WorkflowActor };

/**
 * A transition's outbox rows (src/jobs/effects.ts): a notification event when someone is told, and its
 * webhook event; `save` writes them in the statement that saves the new state.
 */
export type OutboxRows = { notice: Insertable<NotificationEventsTable> | null; webhook: WebhookRow };

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

/** One line of an application's or an award's history. */
export type HistoryLine = {
  id: string;
  type: string;
  actorId: string | null;
  from: string;
  to: string;
  payload: Record<string, unknown>;
  /** The persisted snapshot, or its JSON text (the runner serialises it once for the row and the line). */
  snapshot: Record<string, unknown> | string;
  version: number;
  at: Date;
};

export interface WorkflowDefinition<S extends AnyMachineSnapshot, Row> {
  /** 'application' or 'award', for messages. */
  name: string;
  machine: AnyStateMachine;
  eventTypes: readonly string[];
  eventRoles: Record<string, readonly EventRole[]>;
  /** Reads the row with the caller's relations; throws not-found out of the caller's scope. */
  load(db: DbOrTrx, id: string, actor: WorkflowActor): Promise<Loaded<S, Row>>;
  /** The same, locking the row (`FOR UPDATE`) for the rest of the transaction. */
  lock(trx: Trx, id: string, actor: WorkflowActor): Promise<Loaded<S, Row>>;
  /**
   * Where events may be saved without the row's lock (runner.ts `sendTransition`): how to read the row
   * as `lock` does, without the lock; which events' guards read other tables; and which transitions
   * write more after the state (those take the locked path).
   */
  unlocked?: {
    read(db: DbOrTrx, id: string, actor: WorkflowActor): Promise<Loaded<S, Row>>;
    factsReadDatabase(type: string): boolean;
    writesAfter(result: TransitionResult<S, Row>): boolean;
  };
  /** The server-computed facts the event's guards read (never taken from the client), about `actor`'s event. */
  facts(
    db: DbOrTrx,
    loaded: Loaded<S, Row>,
    type: string,
    payload: Record<string, unknown>,
    actor: WorkflowActor,
  ): Promise<Record<string, unknown>>;
  blockers(context: S['context'], event: MachineEvent): string[];
  /** Non-blocking warnings recorded with the event (e.g. a panel without a local-group member). */
  warnings?(context: S['context'], event: MachineEvent): string[];
  /** The snapshot as stored, as JSON text. */
  persist(snapshot: S): string;
  /**
   * Writes the new state, its history line and the transition's `outbox` rows in one statement
   * (src/workflow/save.ts), only if the row is still at `loaded.version`: false when another event
   * came first (never under the row's lock). The line carries what the row takes: the snapshot's JSON
   * text, the new version, the instant.
   */
  save(
    db: DbOrTrx,
    loaded: Loaded<S, Row>,
    next: S,
    history: HistoryLine & { snapshot: string },
    outbox: OutboxRows,
  ): Promise<boolean>;
  /** A history line without a change of state (e.g. an award's creation). */
  appendHistory(trx: Trx, entry: HistoryLine): Promise<void>;
  /** Effects of reaching the new state, in the same transaction (e.g. creating an award). */
  afterTransition?(
    trx: Trx,
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

/**
 * What the validator (ETag) of an application's or an award's view is made of, besides who asks: the
 * entity's version, and a stamp of everything else the view shows (see migration 0009).
 */
export type ViewValidator = { version: number; stamp: string };

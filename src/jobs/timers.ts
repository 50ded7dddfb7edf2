import { sql } from 'kysely';
import {
  acceptedEventTypes,
  pendingApplicationTimers,
  pendingAwardTimers,
  reviveApplicationSnapshot,
  reviveAwardSnapshot,
} from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';

/**
 * Durable timers (SPEC §4): rows in `timers`, written in the transaction of the event that makes them
 * due, fired by `runDueTimers` through the one transition path as actor `system`.
 *
 * Why a table and not pg-boss: `tick --now <instant>` must run what is due by an instant the caller
 * chooses, and pg-boss decides due-ness with the database's own `now()`; a timer must also be replaced
 * when its event moves (EXTEND_DEADLINE, a renewal's grace). A table claimed with
 * `FOR UPDATE SKIP LOCKED` gives both, fires once across instances, and works the same on PGlite.
 */

export type TimerEntity = 'application' | 'award';
export type TimerDue = { eventType: string; dueAt: string };

/** The timers a workflow should have pending in the state of this (persisted) snapshot. */
export function pendingTimersFor(entity: TimerEntity, persisted: unknown): TimerDue[] {
  return entity === 'application'
    ? pendingApplicationTimers(reviveApplicationSnapshot(persisted))
    : pendingAwardTimers(reviveAwardSnapshot(persisted));
}

/**
 * Makes the pending timers of an entity exactly `timers`: new ones are inserted, ones no longer wanted
 * are cancelled. A timer another worker is firing right now is skipped, not waited for (its lock would
 * be taken in the opposite order: deadlock); it finds itself stale when it fires and does nothing.
 */
export async function scheduleTimers(
  trx: DbOrTrx,
  entity: TimerEntity,
  entityId: string,
  timers: TimerDue[],
): Promise<void> {
  const wanted = new Set(timers.map((t) => `${t.eventType}@${new Date(t.dueAt).toISOString()}`));
  const pending = await trx
    .selectFrom('timers')
    .select(['id', 'event_type', 'due_at'])
    .where('entity', '=', entity)
    .where('entity_id', '=', entityId)
    .where('status', '=', 'pending')
    .forUpdate()
    .skipLocked()
    .execute();
  const obsolete = pending
    .filter((t) => !wanted.has(`${t.event_type}@${new Date(t.due_at).toISOString()}`))
    .map((t) => t.id);
  if (obsolete.length) {
    await trx
      .updateTable('timers')
      .set({ status: 'cancelled', finished_at: sql`now()` })
      .where('id', 'in', obsolete)
      .execute();
  }
  for (const t of timers) {
    await trx
      .insertInto('timers')
      .values({ entity, entity_id: entityId, event_type: t.eventType, due_at: new Date(t.dueAt) })
      .onConflict((oc) =>
        // A literal, not a parameter: Postgres must match the partial unique index even under a
        // prepared statement's generic plan.
        oc
          .columns(['entity', 'entity_id', 'event_type', 'due_at'])
          .where('status', '=', sql.lit('pending'))
          .doNothing(),
      )
      .execute();
  }
}

/** Whether the entity's current state still wants this timer and accepts its event. */
export function timerStillApplies(
  entity: TimerEntity,
  persisted: unknown,
  eventType: string,
  dueAt: Date,
): string | null {
  const snapshot =
    entity === 'application' ? reviveApplicationSnapshot(persisted) : reviveAwardSnapshot(persisted);
  const wanted = pendingTimersFor(entity, persisted).some(
    (t) => t.eventType === eventType && Date.parse(t.dueAt) === dueAt.getTime(),
  );
  if (!wanted) return `${eventType} at ${dueAt.toISOString()} is no longer pending for this ${entity}`;
  if (!acceptedEventTypes(snapshot).includes(eventType))
    return `${eventType} does not apply in the ${entity}'s current state`;
  return null;
}

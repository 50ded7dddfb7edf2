import { randomUUID } from 'node:crypto';
import { type QueryCreator, type RawBuilder, sql } from 'kysely';
import { APPLICATION_EVENT_TYPES, AWARD_EVENT_TYPES } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';
import type { Database } from '../db/schema.ts';

/** Event types a subscription may name: `<entity>.<EVENT>` (e.g. `application.DECIDE`), or `*` for all. */
export const WEBHOOK_EVENT_TYPES = [
  ...APPLICATION_EVENT_TYPES.map((t) => `application.${t}`),
  'award.AWARDED',
  ...AWARD_EVENT_TYPES.map((t) => `award.${t}`),
] as const;

export type WebhookEvent = {
  type: string;
  areaId: string;
  at: Date;
  /** Facts every subscriber of the area may see: ids, states, versions; never reviews or evidence. */
  data: Record<string, unknown>;
};

/** A webhook event as the outbox keeps it: its id and its body, fixed when it happens. */
export type WebhookRow = { eventId: string; type: string; body: string; at: Date; areaId: string };

export function webhookRow(event: WebhookEvent): WebhookRow {
  const eventId = randomUUID();
  const body = JSON.stringify({
    id: eventId,
    type: event.type,
    occurredAt: event.at.toISOString(),
    data: event.data,
  });
  return { eventId, type: event.type, body, at: event.at, areaId: event.areaId };
}

/**
 * Writes one delivery per matching subscription, in the event's transaction (the outbox): the body is
 * fixed now, signed and sent by the delivery worker.
 */
export async function enqueueWebhookEvent(trx: DbOrTrx, event: WebhookEvent): Promise<number> {
  const inserted = await webhookDeliveries(trx, webhookRow(event)).executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0);
}

/**
 * The insert of an event's deliveries as one statement (INSERT … SELECT over the matching
 * subscriptions), so a caller may put it beside its own writes (a transition's, in a data-modifying
 * CTE): one round trip for both.
 */
export function webhookDeliveries(
  db: QueryCreator<Database>,
  row: WebhookRow,
  /** A condition the deliveries are written under (a transition's: only if its state was saved). */
  onlyIf?: RawBuilder<boolean>,
) {
  return db
    .insertInto('webhook_deliveries')
    .columns(['subscription_id', 'event_id', 'event_type', 'body', 'next_attempt_at'])
    .expression((eb) =>
      eb
        .selectFrom('webhook_subscriptions')
        .select([
          'id',
          sql<string>`${row.eventId}::uuid`.as('event_id'),
          sql<string>`${row.type}::text`.as('event_type'),
          sql<string>`${row.body}::text`.as('body'),
          sql<Date>`${row.at}::timestamptz`.as('next_attempt_at'),
        ])
        .where('deleted_at', 'is', null)
        .where((eb2) => eb2.or([eb2('area_id', 'is', null), eb2('area_id', '=', row.areaId)]))
        .where(sql<boolean>`(${row.type} = any(event_types) or '*' = any(event_types))`)
        .$if(onlyIf !== undefined, (q) => q.where(onlyIf as RawBuilder<boolean>)),
    );
}

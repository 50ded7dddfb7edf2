import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { APPLICATION_EVENT_TYPES, AWARD_EVENT_TYPES } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';

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

/**
 * Writes one delivery per matching subscription, in the event's transaction (the outbox): the body is
 * fixed now, signed and sent by the delivery worker.
 */
export async function enqueueWebhookEvent(trx: DbOrTrx, event: WebhookEvent): Promise<number> {
  const subscriptions = await trx
    .selectFrom('webhook_subscriptions')
    .select('id')
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('area_id', 'is', null), eb('area_id', '=', event.areaId)]))
    .where(sql<boolean>`(${event.type} = any(event_types) or '*' = any(event_types))`)
    .execute();
  if (!subscriptions.length) return 0;
  const eventId = randomUUID();
  const body = JSON.stringify({
    id: eventId,
    type: event.type,
    occurredAt: event.at.toISOString(),
    data: event.data,
  });
  await trx
    .insertInto('webhook_deliveries')
    .values(
      subscriptions.map((s) => ({
        subscription_id: s.id,
        event_id: eventId,
        event_type: event.type,
        body,
        next_attempt_at: event.at,
      })),
    )
    .execute();
  return subscriptions.length;
}

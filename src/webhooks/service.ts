import { findArea } from '../areas/repository.ts';
import type { Db } from '../db/index.ts';
import { assertLeadOrAdmin, maySubscribeToEventsOf, webhookSubscriptionsInScope } from '../domain/access.ts';
import { forbidden, notFound, validationFailed } from '../domain/errors.ts';
import { iso, isoOrNull } from '../domain/iso.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';
import type { CreatedWebhookView, CreateWebhookInput, DeliveryView, WebhookView } from './schemas.ts';
import { newWebhookSecret } from './signature.ts';
import { checkWebhookUrl, type TargetPolicy } from './targets.ts';

const toView = (s: repo.SubscriptionRow): WebhookView => ({
  id: s.id,
  url: s.url,
  eventTypes: s.event_types,
  areaId: s.area_id,
  description: s.description,
  createdBy: s.created_by,
  createdAt: iso(s.created_at),
});

const toDeliveryView = (d: repo.DeliveryRow): DeliveryView => ({
  id: d.id,
  eventId: d.event_id,
  eventType: d.event_type,
  status: d.status,
  attempts: d.attempts,
  // Only a pending delivery will be attempted again.
  nextAttemptAt: d.status === 'pending' ? iso(d.next_attempt_at) : null,
  lastStatusCode: d.last_status_code,
  lastError: d.last_error,
  deliveredAt: isoOrNull(d.delivered_at),
  createdAt: iso(d.created_at),
  body: d.body,
});

/** Webhooks are for admins and leads only; a subscription out of the caller's scope is not found. */
async function findSubscriptionInScope(db: Db, p: Principal, id: string) {
  assertLeadOrAdmin(p);
  const row = await repo.findSubscription(db, id, webhookSubscriptionsInScope(p));
  if (!row) throw notFound('webhook subscription');
  return row;
}

/**
 * Subscribes a URL to events; the answer holds the signing secret, shown this once. The URL must lead
 * to a public address (targets.ts); it is stored in its normalised form, the one that was checked.
 */
export async function createSubscription(
  db: Db,
  p: Principal,
  input: CreateWebhookInput,
  targets: TargetPolicy,
): Promise<CreatedWebhookView> {
  assertLeadOrAdmin(p);
  const areaId = input.areaId ?? null;
  if (!maySubscribeToEventsOf(p, areaId)) {
    if (areaId === null)
      throw validationFailed('areaId: a lead subscribes to the events of one of their areas', [
        { path: 'body.areaId', message: 'required for a lead' },
      ]);
    throw forbidden('A lead may subscribe only to their own areas');
  }
  if (areaId && !(await findArea(db, areaId)))
    throw validationFailed('areaId: no such area', [{ path: 'body.areaId', message: 'no such area' }]);
  const checked = await checkWebhookUrl(input.url, targets);
  if ('refused' in checked)
    throw validationFailed(`url: ${checked.refused}`, [{ path: 'body.url', message: checked.refused }]);
  const secret = newWebhookSecret();
  const row = await repo.insertSubscription(db, {
    url: checked.url,
    event_types: [...new Set(input.eventTypes)],
    area_id: areaId,
    secret,
    description: input.description ?? null,
    created_by: p.userId,
  });
  return { ...toView(row), secret };
}

export async function listSubscriptions(db: Db, p: Principal, page: { limit: number; cursor?: string }) {
  assertLeadOrAdmin(p);
  const found = await repo.pageOfSubscriptions(db, webhookSubscriptionsInScope(p), page);
  return { items: found.items.map(toView), nextCursor: found.nextCursor };
}

/** One subscription in the caller's scope (404 outside it). */
export async function getSubscription(db: Db, p: Principal, id: string): Promise<WebhookView> {
  return toView(await findSubscriptionInScope(db, p, id));
}

export async function deleteSubscription(db: Db, p: Principal, id: string) {
  const row = await findSubscriptionInScope(db, p, id);
  await repo.deleteSubscription(db, row.id);
}

export async function listDeliveries(
  db: Db,
  p: Principal,
  subscriptionId: string,
  q: { status?: repo.DeliveryRow['status']; limit: number; cursor?: string },
) {
  const subscription = await findSubscriptionInScope(db, p, subscriptionId);
  const found = await repo.pageOfDeliveries(
    db,
    subscription.id,
    { status: q.status },
    { limit: q.limit, cursor: q.cursor },
  );
  return { items: found.items.map(toDeliveryView), nextCursor: found.nextCursor };
}

import type { Insertable, Selectable } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';
import type { WebhookDeliveriesTable, WebhookSubscriptionsTable } from '../db/schema.ts';
import type { webhookSubscriptionsInScope } from '../domain/access.ts';
import { keysetPage } from '../domain/pagination.ts';

export type SubscriptionRow = Selectable<WebhookSubscriptionsTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** The subscriptions a caller may see, as the SQL filter `webhookSubscriptionsInScope` gives. */
type SubscriptionScope = ReturnType<typeof webhookSubscriptionsInScope>;

type Page = { limit: number; cursor?: string };

export async function insertSubscription(
  db: DbOrTrx,
  subscription: Insertable<WebhookSubscriptionsTable>,
): Promise<SubscriptionRow> {
  return db.insertInto('webhook_subscriptions').values(subscription).returningAll().executeTakeFirstOrThrow();
}

/** A subscription that has not been deleted, if it is within scope. */
export async function findSubscription(
  db: DbOrTrx,
  id: string,
  scope: SubscriptionScope,
): Promise<SubscriptionRow | undefined> {
  return db
    .selectFrom('webhook_subscriptions')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .where(scope)
    .executeTakeFirst();
}

/** The subscriptions within scope that have not been deleted, newest first. */
export async function pageOfSubscriptions(db: DbOrTrx, scope: SubscriptionScope, page: Page) {
  const qb = db.selectFrom('webhook_subscriptions').selectAll().where('deleted_at', 'is', null).where(scope);
  return keysetPage(qb, {
    idColumn: 'webhook_subscriptions.id',
    ...page,
    sort: { column: 'webhook_subscriptions.created_at', direction: 'desc' },
  });
}

/** Marks a subscription deleted: the delivery worker then sends none of its pending deliveries. */
export async function deleteSubscription(db: DbOrTrx, id: string) {
  await db
    .updateTable('webhook_subscriptions')
    .set({ deleted_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/** A subscription's deliveries, newest first. */
export async function pageOfDeliveries(
  db: DbOrTrx,
  subscriptionId: string,
  filter: { status?: DeliveryRow['status'] },
  page: Page,
) {
  let qb = db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', subscriptionId);
  if (filter.status) qb = qb.where('status', '=', filter.status);
  return keysetPage(qb, {
    idColumn: 'webhook_deliveries.id',
    ...page,
    sort: { column: 'webhook_deliveries.created_at', direction: 'desc' },
  });
}

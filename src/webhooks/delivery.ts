import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { CLAIM_LEASE_MS, retryDelayMs } from '../jobs/backoff.ts';
import { postWebhook } from './send.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';

export type WebhookSummary = { delivered: number; retried: number; failed: number };

/**
 * Posts the pending webhook deliveries due by `now`, signed with their subscription's secret. A 2xx
 * answer is delivered; anything else (a redirect, a refused address, no answer in time) is retried
 * with backoff, then failed. Only the status and a short error are kept, never the answer's body.
 * Claimed like e-mails: SKIP LOCKED and a lease, sent outside any transaction.
 */
export async function deliverWebhooks(
  db: Db,
  config: Pick<Config, 'webhooks' | 'jobs'>,
  now: Date,
  batch = 50,
): Promise<WebhookSummary> {
  const summary: WebhookSummary = { delivered: 0, retried: 0, failed: 0 };
  for (;;) {
    const claimed = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
        .select(['d.id', 'd.body', 'd.event_type', 'd.attempts', 's.url', 's.secret', 's.deleted_at'])
        .where('d.status', '=', 'pending')
        .where('d.next_attempt_at', '<=', now)
        .orderBy('d.next_attempt_at')
        .limit(batch)
        .forUpdate('d')
        .skipLocked()
        .execute();
      if (rows.length) {
        await trx
          .updateTable('webhook_deliveries')
          .set({ next_attempt_at: new Date(now.getTime() + CLAIM_LEASE_MS) })
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .execute();
      }
      return rows;
    });
    if (!claimed.length) return summary;
    for (const row of claimed) {
      const attempts = row.attempts + 1;
      if (row.deleted_at) {
        await db
          .updateTable('webhook_deliveries')
          .set({ status: 'failed', attempts, last_error: 'The subscription was deleted' })
          .where('id', '=', row.id)
          .execute();
        summary.failed++;
        continue;
      }
      const { status, error } = await postWebhook(
        row.url,
        {
          'content-type': 'application/json',
          'user-agent': 'SanctuaryAwards-Webhooks/1',
          'x-sanctuary-event': row.event_type,
          'x-sanctuary-delivery': row.id,
          // Signed at sending time: a retry carries a fresh timestamp.
          [SIGNATURE_HEADER]: signatureHeader(row.secret, row.body, new Date()),
        },
        row.body,
        config.webhooks,
      );
      if (!error) {
        await db
          .updateTable('webhook_deliveries')
          .set({
            status: 'delivered',
            attempts,
            last_status_code: status,
            last_error: null,
            delivered_at: now,
          })
          .where('id', '=', row.id)
          .execute();
        summary.delivered++;
        continue;
      }
      const giveUp = attempts >= config.webhooks.maxAttempts;
      await db
        .updateTable('webhook_deliveries')
        .set({
          attempts,
          last_status_code: status,
          last_error: error,
          ...(giveUp
            ? { status: 'failed' as const }
            : {
                next_attempt_at: new Date(
                  now.getTime() + retryDelayMs(attempts, config.jobs.retryBaseSeconds),
                ),
              }),
        })
        .where('id', '=', row.id)
        .execute();
      if (giveUp) summary.failed++;
      else summary.retried++;
    }
    if (claimed.length < batch) return summary;
  }
}

import { afterAll, describe, expect, it } from '@jest/globals';
import { deliverWebhooks } from '../../src/webhooks/delivery.ts';
import { enqueueWebhookEvent } from '../../src/webhooks/outbox.ts';
import { MAX_DISCARDED_BODY_BYTES } from '../../src/webhooks/send.ts';
import { verifySignature } from '../../src/webhooks/signature.ts';
import { ok } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Receiver, startReceiver } from './receiver.ts';

/**
 * How a delivery treats its receiver's answer. The receivers listen on loopback, so this file turns on
 * WEBHOOK_ALLOW_PRIVATE_TARGETS; what stays refused even then is checked here too.
 */

const { t, w } = useWorld({ WEBHOOK_ALLOW_PRIVATE_TARGETS: '1' });
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const r of receivers) await r.close();
});

async function receiver(answer: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

/** Subscribes `url` to every event of area A, sends one event, runs one delivery pass; unsubscribes. */
async function deliverOnceTo(url: string, config = t.config) {
  const hook = ok(await w.admin.api.post('/webhooks', { url, eventTypes: ['*'], areaId: w.areaA }), 201);
  const now = new Date();
  await enqueueWebhookEvent(t.database.db, {
    type: 'application.SUBMIT',
    areaId: w.areaA,
    at: now,
    data: { entity: 'application' },
  });
  const summary = await deliverWebhooks(t.database.db, config, now);
  const [delivery] = ok(await w.admin.api.get(`/webhooks/${hook.id}/deliveries`)).items;
  expect((await w.admin.api.delete(`/webhooks/${hook.id}`)).status).toBe(204);
  return { hook, summary, delivery };
}

describe('with private targets allowed (tests, closed networks)', () => {
  it('delivers to loopback, signed as ever', async () => {
    const r = await receiver({ status: 204 });
    const { hook, summary, delivery } = await deliverOnceTo(r.url);
    expect(summary).toEqual({ delivered: 1, retried: 0, failed: 0 });
    expect(delivery).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 204,
      lastError: null,
    });
    expect(r.received).toHaveLength(1);
    const [got] = r.received;
    expect(got.method).toBe('POST');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-sanctuary-event']).toBe('application.SUBMIT');
    expect(got.headers['x-sanctuary-delivery']).toBe(delivery.id);
    expect(got.body).toBe(delivery.body);
    expect(verifySignature(hook.secret, got.body, String(got.headers['x-sanctuary-signature']))).toBe(true);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', /cloud metadata address/],
    ['http://[fd00:ec2::254]/', /cloud metadata address/],
    ['http://metadata.google.internal/', /cloud metadata service/],
    ['http://169.254.10.10/hook', /link-local address/],
    ['http://[fe80::1]/hook', /link-local address/],
    ['http://224.0.0.251/hook', /multicast address/],
    ['http://0.0.0.0/hook', /unspecified address/],
    ['http://255.255.255.255/hook', /broadcast address/],
  ])('still refuses %s at registration', async (url, why) => {
    const res = await w.admin.api.post('/webhooks', { url, eventTypes: ['*'] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.url', message: expect.stringMatching(why) }]);
  });

  it('follows no redirect: a 3xx is a failed attempt, recorded, and the other receiver gets nothing', async () => {
    const elsewhere = await receiver({ status: 204 });
    const first = await receiver({ status: 302, headers: { location: elsewhere.url } });
    const { summary, delivery } = await deliverOnceTo(first.url);
    expect(summary).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect(first.received).toHaveLength(1);
    expect(elsewhere.received).toEqual([]);
    expect(delivery).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: 302,
      lastError: 'HTTP 302: redirects are not followed',
    });
    for (const status of [301, 307, 308]) {
      first.answer = { status, headers: { location: elsewhere.url } };
      const next = await deliverOnceTo(first.url);
      expect(next.delivery).toMatchObject({
        lastStatusCode: status,
        lastError: `HTTP ${status}: redirects are not followed`,
      });
    }
    expect(elsewhere.received).toEqual([]);
  });

  it('stores no part of an answer’s body, whatever its status', async () => {
    const marker = 'RECEIVER-SAID-THIS-7f3a';
    const failing = await receiver({
      status: 500,
      headers: { 'content-type': 'text/plain' },
      body: `stack trace: ${marker}`,
    });
    const failed = await deliverOnceTo(failing.url);
    expect(failed.delivery).toMatchObject({ status: 'pending', lastStatusCode: 500, lastError: 'HTTP 500' });

    // A body far larger than what is read: the connection is dropped, the 2xx still counts.
    const chatty = await receiver({
      status: 200,
      body: Buffer.from(`${marker}${'x'.repeat(MAX_DISCARDED_BODY_BYTES * 16)}${marker}`),
    });
    const delivered = await deliverOnceTo(chatty.url);
    expect(delivered.summary).toEqual({ delivered: 1, retried: 0, failed: 0 });
    expect(delivered.delivery).toMatchObject({ status: 'delivered', lastStatusCode: 200, lastError: null });

    for (const hook of [failed.hook, delivered.hook]) {
      const rows = await t.database.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('subscription_id', '=', hook.id)
        .execute();
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(marker);
    }
    // The log as the API shows it, deleted subscriptions aside: nothing of either answer.
    const stored = await t.database.db.selectFrom('webhook_deliveries').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(marker);
    expect(JSON.stringify([failed.delivery, delivered.delivery])).not.toContain(marker);
  });

  it('gives up an attempt after WEBHOOK_TIMEOUT_MS without an answer, and retries it later', async () => {
    const silent = await receiver({ status: 204, hang: true });
    const config = { ...t.config, webhooks: { ...t.config.webhooks, timeoutMs: 200 } };
    const { summary, delivery } = await deliverOnceTo(silent.url, config);
    expect(silent.received).toHaveLength(1);
    expect(summary).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect(delivery).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: null,
      lastError: 'No answer within 200 ms',
    });
  });

  it('records a refused connection as a failed attempt', async () => {
    const closed = await receiver({ status: 204 });
    const url = closed.url;
    await closed.close();
    const { summary, delivery } = await deliverOnceTo(url);
    expect(summary).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect(delivery).toMatchObject({
      lastStatusCode: null,
      lastError: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

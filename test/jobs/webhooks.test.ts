import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifySignature } from '../../src/webhooks/signature.ts';
import { event, ok, readyDraft } from '../helpers/applications.ts';
import { startHookReceiver, tick } from '../helpers/jobs.ts';
import { useWorld } from '../helpers/setup.ts';

const { t, w } = useWorld({
  ALLOW_CLOCK_OVERRIDE: '1',
  RETRY_BASE_SECONDS: '60',
  // The receiver listens on loopback.
  WEBHOOK_ALLOW_PRIVATE_TARGETS: '1',
});
let receiver: Awaited<ReturnType<typeof startHookReceiver>>;
beforeAll(async () => {
  receiver = await startHookReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('webhooks', () => {
  let leadHook: { id: string; secret: string };
  let adminHook: { id: string; secret: string };
  let applicationId: string;
  let start: Date;

  it('admins subscribe anywhere; a lead only to their own area; the secret is shown once', async () => {
    expect(
      (
        await w.leadB.api.post('/webhooks', {
          url: receiver.url,
          eventTypes: ['application.SUBMIT'],
          areaId: w.areaA,
        })
      ).status,
    ).toBe(403);
    expect(
      (await w.leadA.api.post('/webhooks', { url: receiver.url, eventTypes: ['application.SUBMIT'] })).status,
    ).toBe(400);
    expect(
      (
        await w.leadA.api.post('/webhooks', {
          url: receiver.url,
          eventTypes: ['application.NOPE'],
          areaId: w.areaA,
        })
      ).status,
    ).toBe(400);
    expect((await w.applicantA.api.post('/webhooks', { url: receiver.url, eventTypes: ['*'] })).status).toBe(
      403,
    );
    leadHook = ok(
      await w.leadA.api.post('/webhooks', {
        url: receiver.url,
        eventTypes: ['application.SUBMIT', 'application.ACCEPT'],
        areaId: w.areaA,
      }),
      201,
    );
    expect(leadHook.secret).toMatch(/^whsec_/);
    adminHook = ok(await w.admin.api.post('/webhooks', { url: receiver.url, eventTypes: ['*'] }), 201);
    const listed = ok(await w.leadA.api.get('/webhooks'));
    expect(listed.items.map((h: { id: string }) => h.id)).toEqual([leadHook.id]);
    expect(JSON.stringify(listed)).not.toContain(leadHook.secret);
    expect(ok(await w.leadB.api.get('/webhooks')).items).toEqual([]);
    expect((await w.leadB.api.get(`/webhooks/${leadHook.id}/deliveries`)).status).toBe(404);
  });

  it('a failed delivery is logged and retried after its backoff, not before', async () => {
    receiver.answer.status = 500;
    applicationId = await readyDraft(t.app, w);
    ok(await event(w.applicantA, applicationId, { type: 'SUBMIT' }));
    start = new Date();
    const first = await tick(t.database.db, t.config, start);
    expect(first.webhooks).toEqual({ delivered: 0, retried: 2, failed: 0 });
    expect(receiver.received).toHaveLength(2);
    const log = ok(await w.leadA.api.get(`/webhooks/${leadHook.id}/deliveries`)).items;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      eventType: 'application.SUBMIT',
      status: 'pending',
      attempts: 1,
      lastStatusCode: 500,
      lastError: 'HTTP 500',
    });
    expect(Date.parse(log[0].nextAttemptAt)).toBe(start.getTime() + 60_000);

    expect((await tick(t.database.db, t.config, start)).webhooks).toEqual({
      delivered: 0,
      retried: 0,
      failed: 0,
    });
    receiver.answer.status = 204;
    const retried = await tick(t.database.db, t.config, new Date(start.getTime() + 61_000));
    expect(retried.webhooks).toEqual({ delivered: 2, retried: 0, failed: 0 });
    expect(receiver.received).toHaveLength(4);
    const delivered = ok(await w.leadA.api.get(`/webhooks/${leadHook.id}/deliveries`)).items[0];
    expect(delivered).toMatchObject({
      status: 'delivered',
      attempts: 2,
      lastStatusCode: 204,
      lastError: null,
    });
  });

  it('every delivery is signed with its subscription’s secret over timestamp and body', async () => {
    const [, , a, b] = receiver.received;
    const secretFor = (id: string) => (id === leadHook.id ? leadHook.secret : adminHook.secret);
    for (const hook of [a, b]) {
      const body = JSON.parse(hook.body);
      expect(body).toMatchObject({
        type: 'application.SUBMIT',
        data: { entity: 'application', id: applicationId, areaId: w.areaA, from: 'draft', to: 'submitted' },
      });
      expect(hook.headers['x-sanctuary-event']).toBe('application.SUBMIT');
      const deliveryId = String(hook.headers['x-sanctuary-delivery']);
      const row = await t.database.db
        .selectFrom('webhook_deliveries')
        .select('subscription_id')
        .where('id', '=', deliveryId)
        .executeTakeFirstOrThrow();
      const signature = String(hook.headers['x-sanctuary-signature']);
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifySignature(secretFor(row.subscription_id), hook.body, signature)).toBe(true);
      expect(
        verifySignature(secretFor(row.subscription_id), hook.body.replace('submitted', 'awarded'), signature),
      ).toBe(false);
      expect(verifySignature('whsec_wrong', hook.body, signature)).toBe(false);
      // An old timestamp is refused (replay).
      expect(
        verifySignature(
          secretFor(row.subscription_id),
          hook.body,
          signature,
          new Date(Date.now() + 3_600_000),
        ),
      ).toBe(false);
    }
  });

  it('only subscribed event types are sent; a deleted subscription gets nothing more', async () => {
    expect((await w.leadB.api.delete(`/webhooks/${leadHook.id}`)).status).toBe(404);
    expect((await w.leadA.api.delete(`/webhooks/${leadHook.id}`)).status).toBe(204);
    ok(await event(w.leadA, applicationId, { type: 'ACCEPT' }));
    const summary = await tick(t.database.db, t.config, new Date(start.getTime() + 120_000));
    expect(summary.webhooks.delivered).toBe(1);
    const last = JSON.parse(receiver.received.at(-1)?.body ?? '{}');
    expect(last.type).toBe('application.ACCEPT');
    expect((await w.leadA.api.get('/webhooks')).body.items).toEqual([]);
  });
});

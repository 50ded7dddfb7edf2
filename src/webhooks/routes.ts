import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { assertLeadOrAdmin, webhookSubscriptionsInScope } from '../domain/access.ts';
import { forbidden, notFound, validationFailed } from '../domain/errors.ts';
import { isoOrNull as iso } from '../domain/iso.ts';
import { keysetPage } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery } from '../http/pagination.ts';
import { WEBHOOK_EVENT_TYPES } from './outbox.ts';
import { newWebhookSecret } from './signature.ts';

const eventTypeSchema = z
  .string()
  .refine((t) => t === '*' || (WEBHOOK_EVENT_TYPES as readonly string[]).includes(t), {
    message: `one of *, ${WEBHOOK_EVENT_TYPES.join(', ')}`,
  });

export const webhookView = z
  .object({
    id: z.uuid(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    areaId: z.uuid().nullable().describe('The area whose events are sent; null: every area (admins only)'),
    description: z.string().nullable(),
    createdBy: z.uuid(),
    createdAt: z.string(),
  })
  .meta({ id: 'WebhookSubscription' });

const createdWebhookView = webhookView
  .extend({ secret: z.string().describe('Shown only now: verify `X-Sanctuary-Signature` with it') })
  .meta({ id: 'CreatedWebhookSubscription' });

const deliveryView = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    eventType: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    body: z.string().describe('The exact JSON that is signed and sent'),
  })
  .meta({ id: 'WebhookDelivery' });

type SubscriptionRow = {
  id: string;
  url: string;
  event_types: string[];
  area_id: string | null;
  description: string | null;
  created_by: string;
  created_at: Date;
};

const toView = (s: SubscriptionRow) => ({
  id: s.id,
  url: s.url,
  eventTypes: s.event_types,
  areaId: s.area_id,
  description: s.description,
  createdBy: s.created_by,
  createdAt: iso(s.created_at) as string,
});

export const webhookRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  async function loadInScope(p: Principal, id: string) {
    const row = await db
      .selectFrom('webhook_subscriptions')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .where(webhookSubscriptionsInScope(p))
      .executeTakeFirst();
    if (!row) throw notFound('webhook subscription');
    return row as SubscriptionRow;
  }

  app.post(
    '/webhooks',
    {
      // The answer holds the signing secret: never stored for Idempotency-Key replays.
      config: { secretInResponse: true },
      schema: {
        tags: ['webhooks'],
        summary: 'Subscribe a URL to workflow events (admin; lead for one of their areas)',
        description:
          'Each delivery is a POST of `{id, type, occurredAt, data}` with `X-Sanctuary-Signature: t=<unix>,v1=<hex>`, ' +
          'the HMAC-SHA256 of `"<t>.<raw body>"` with the subscription secret (shown once, here). Refuse old timestamps ' +
          'against replay. A non-2xx answer is retried with exponential backoff.',
        body: z.strictObject({
          url: z.url({ protocol: /^https?$/ }).max(2000),
          eventTypes: z.array(eventTypeSchema).min(1).max(50),
          areaId: z
            .uuid()
            .nullable()
            .optional()
            .describe('Required for a lead; an admin may leave it out for every area'),
          description: z.string().max(500).optional(),
        }),
        response: { 201: createdWebhookView, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      assertLeadOrAdmin(p);
      const body = request.body;
      const areaId = body.areaId ?? null;
      if (!p.isAdmin) {
        if (!areaId)
          throw validationFailed('areaId: a lead subscribes to the events of one of their areas', [
            { path: 'body.areaId', message: 'required for a lead' },
          ]);
        if (!p.leadAreaIds.includes(areaId)) throw forbidden('A lead may subscribe only to their own areas');
      } else if (
        areaId &&
        !(await db.selectFrom('areas').select('id').where('id', '=', areaId).executeTakeFirst())
      ) {
        throw validationFailed('areaId: no such area', [{ path: 'body.areaId', message: 'no such area' }]);
      }
      const secret = newWebhookSecret();
      const row = await db
        .insertInto('webhook_subscriptions')
        .values({
          url: body.url,
          event_types: [...new Set(body.eventTypes)],
          area_id: areaId,
          secret,
          description: body.description ?? null,
          created_by: p.userId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      reply.code(201);
      return { ...toView(row as SubscriptionRow), secret };
    },
  );

  app.get(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook subscriptions in the caller’s scope',
        querystring: z.strictObject({ ...pageQuery }),
        response: { 200: pageOf(webhookView), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const p = caller(request);
      assertLeadOrAdmin(p);
      const qb = db
        .selectFrom('webhook_subscriptions')
        .selectAll()
        .where('deleted_at', 'is', null)
        .where(webhookSubscriptionsInScope(p));
      const page = await keysetPage(qb, {
        idColumn: 'webhook_subscriptions.id',
        limit: request.query.limit,
        cursor: request.query.cursor,
        sort: { column: 'webhook_subscriptions.created_at', direction: 'desc' },
      });
      return { items: (page.items as SubscriptionRow[]).map(toView), nextCursor: page.nextCursor };
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Delete a subscription; its pending deliveries are not sent',
        params: z.strictObject({ id: z.uuid() }),
        response: { 204: z.null(), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      assertLeadOrAdmin(p);
      const row = await loadInScope(p, request.params.id);
      await db
        .updateTable('webhook_subscriptions')
        .set({ deleted_at: new Date() })
        .where('id', '=', row.id)
        .execute();
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'The delivery log of a subscription, newest first',
        params: z.strictObject({ id: z.uuid() }),
        querystring: z.strictObject({
          status: z.enum(['pending', 'delivered', 'failed']).optional(),
          ...pageQuery,
        }),
        response: { 200: pageOf(deliveryView), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const p = caller(request);
      assertLeadOrAdmin(p);
      const subscription = await loadInScope(p, request.params.id);
      let qb = db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', subscription.id);
      if (request.query.status) qb = qb.where('status', '=', request.query.status);
      const page = await keysetPage(qb, {
        idColumn: 'webhook_deliveries.id',
        limit: request.query.limit,
        cursor: request.query.cursor,
        sort: { column: 'webhook_deliveries.created_at', direction: 'desc' },
      });
      return {
        items: (page.items as any[]).map((d) => ({
          id: d.id,
          eventId: d.event_id,
          eventType: d.event_type,
          status: d.status,
          attempts: d.attempts,
          nextAttemptAt: d.status === 'pending' ? iso(d.next_attempt_at) : null,
          lastStatusCode: d.last_status_code,
          lastError: d.last_error,
          deliveredAt: iso(d.delivered_at),
          createdAt: iso(d.created_at) as string,
          body: d.body,
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
};

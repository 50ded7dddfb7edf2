import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery } from '../http/pagination.ts';
import { createdWebhookView, createWebhookBody, deliveryView, webhookView } from './schemas.ts';
import * as service from './service.ts';

export const webhookRoutes: FastifyPluginAsyncZod<{ db: Db; config: Pick<Config, 'webhooks'> }> = async (
  app,
  { db, config },
) => {
  app.post(
    '/webhooks',
    {
      // The answer holds the signing secret: never stored for Idempotency-Key replays.
      config: { secretInResponse: true },
      schema: {
        operationId: 'createWebhook',
        tags: ['webhooks'],
        summary: 'Subscribe a URL to workflow events (admin; lead for one of their areas)',
        description:
          'Each delivery is a POST of `{id, type, occurredAt, data}` with `X-Sanctuary-Signature: t=<unix>,v1=<hex>`, ' +
          'the HMAC-SHA256 of `"<t>.<raw body>"` with the subscription secret (shown once, here). Refuse old timestamps ' +
          'against replay. A non-2xx answer is retried with exponential backoff; redirects are not followed. ' +
          'The URL must lead to a public address: one that is, or whose name resolves to, a loopback, private, ' +
          'link-local, unique-local, multicast or cloud metadata address is refused (400), and the address is ' +
          'checked again when each delivery connects.',
        body: createWebhookBody,
        response: { 201: createdWebhookView, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const created = await service.createSubscription(db, caller(request), request.body, config.webhooks);
      reply.code(201);
      return created;
    },
  );

  app.get(
    '/webhooks',
    {
      schema: {
        operationId: 'listWebhooks',
        tags: ['webhooks'],
        summary: 'Webhook subscriptions in the caller’s scope',
        querystring: z.strictObject({ ...pageQuery }),
        response: { 200: pageOf(webhookView), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => service.listSubscriptions(db, caller(request), request.query),
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        operationId: 'deleteWebhook',
        tags: ['webhooks'],
        summary: 'Delete a subscription; its pending deliveries are not sent',
        params: z.strictObject({ id: z.uuid() }),
        response: { 204: z.null(), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.deleteSubscription(db, caller(request), request.params.id);
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
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
    async (request) => service.listDeliveries(db, caller(request), request.params.id, request.query),
  );
};

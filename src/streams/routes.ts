import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { criteriaSetView, publishBody, streamView } from './schemas.ts';
import * as service from './service.ts';

export const streamRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/streams',
    {
      schema: {
        operationId: 'listStreams',
        tags: ['streams'],
        summary: 'Streams with their current criteria set',
        response: {
          200: z.object({ items: z.array(streamView), nextCursor: z.null() }),
          ...problemResponses(401),
        },
      },
    },
    async () => service.listStreams(db),
  );

  app.get(
    '/streams/:id',
    {
      schema: {
        operationId: 'getStream',
        tags: ['streams'],
        summary: 'One stream with its current criteria set',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: streamView, ...problemResponses(401, 404) },
      },
    },
    async (request) => service.getStream(db, request.params.id),
  );

  app.get(
    '/streams/:id/criteria-sets',
    {
      schema: {
        operationId: 'listCriteriaSets',
        tags: ['streams'],
        summary: "Every published version of a stream's criteria, newest first",
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: z.object({ items: z.array(criteriaSetView) }), ...problemResponses(401, 404) },
      },
    },
    async (request) => ({ items: await service.listCriteriaSets(db, request.params.id) }),
  );

  app.post(
    '/streams/:id/criteria-sets',
    {
      schema: {
        operationId: 'publishCriteriaSet',
        tags: ['streams'],
        summary:
          'Publish a new criteria set version (admin); applications keep the version they started with',
        params: z.strictObject({ id: z.uuid() }),
        body: publishBody,
        response: { 201: criteriaSetView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const set = await service.publishCriteriaSet(db, caller(request), request.params.id, request.body);
      return reply.code(201).send(set);
    },
  );
};

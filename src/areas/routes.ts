import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery, sortQuery } from '../http/pagination.ts';
import { AREA_SORT_KEYS } from './repository.ts';
import { areaView, createAreaBody, nation, patchAreaBody } from './schemas.ts';
import * as service from './service.ts';

export const areaRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/areas',
    {
      schema: {
        operationId: 'listAreas',
        tags: ['areas'],
        summary: 'Areas covered by local leads (any user)',
        querystring: z.strictObject({
          nation: nation.optional(),
          active: z.enum(['true', 'false']).optional(),
          sort: sortQuery(AREA_SORT_KEYS),
          ...pageQuery,
        }),
        response: { 200: pageOf(areaView), ...problemResponses(400, 401) },
      },
    },
    async (request) => service.listAreas(db, request.query),
  );

  app.get(
    '/areas/:id',
    {
      schema: {
        operationId: 'getArea',
        tags: ['areas'],
        summary: 'One area',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: areaView, ...problemResponses(401, 404) },
      },
    },
    async (request) => service.getArea(db, request.params.id),
  );

  app.post(
    '/areas',
    {
      schema: {
        operationId: 'createArea',
        tags: ['areas'],
        summary: 'Create an area (admin)',
        body: createAreaBody,
        response: { 201: areaView, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const area = await service.createArea(db, caller(request), request.body);
      return reply.code(201).header('Location', `/areas/${area.id}`).send(area);
    },
  );

  app.patch(
    '/areas/:id',
    {
      schema: {
        operationId: 'updateArea',
        tags: ['areas'],
        summary: 'Change an area (admin)',
        params: z.strictObject({ id: z.uuid() }),
        body: patchAreaBody,
        response: { 200: areaView, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => service.changeArea(db, caller(request), request.params.id, request.body),
  );
};

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery } from '../http/pagination.ts';
import { notificationView } from './schemas.ts';
import * as service from './service.ts';

export const notificationRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/me/notifications',
    {
      schema: {
        operationId: 'listMyNotifications',
        tags: ['notifications'],
        summary: 'The caller’s notifications, newest first, with their e-mail delivery status',
        querystring: z.strictObject({ ...pageQuery }),
        response: { 200: pageOf(notificationView), ...problemResponses(400, 401) },
      },
    },
    async (request) => service.listMyNotifications(db, caller(request), request.query),
  );
};

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DatabaseHandle } from '../db/index.ts';
import { sendProblem } from '../http/problem.ts';

export const healthRoutes: FastifyPluginAsyncZod<{ database: DatabaseHandle }> = async (
  app,
  { database },
) => {
  app.get(
    '/health/live',
    {
      config: { public: true },
      schema: {
        operationId: 'getLiveness',
        tags: ['health'],
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: { public: true },
      schema: {
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'Readiness: the database answers (503 when it does not)',
        response: { 200: z.object({ status: z.literal('ready'), database: z.enum(['postgres', 'pglite']) }) },
      },
    },
    async (_request, reply) => {
      if (await database.ping(2000)) return { status: 'ready' as const, database: database.kind };
      return sendProblem(reply, 'unavailable', 'The database is not reachable');
    },
  );
};

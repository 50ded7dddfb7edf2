import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { isoOrNull as iso } from '../domain/iso.ts';
import { keysetPage } from '../domain/pagination.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery } from '../http/pagination.ts';

export const notificationView = z
  .object({
    id: z.uuid(),
    kind: z.enum(['event', 'digest']).describe('`event`: one workflow event; `digest`: the day’s reminders'),
    eventType: z.string().describe('e.g. `application.DECIDE`, `award.RENEWAL_DUE`, `reminder.digest`'),
    entity: z.enum(['application', 'award']).nullable(),
    entityId: z.uuid().nullable(),
    subject: z.string(),
    text: z.string(),
    createdAt: z.string(),
    email: z.object({
      to: z.string(),
      status: z
        .enum(['pending', 'sent', 'failed', 'skipped'])
        .describe('`skipped`: no SMTP server is configured'),
      attempts: z.number().int(),
      sentAt: z.string().nullable(),
    }),
  })
  .meta({ id: 'Notification' });

export const notificationRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/me/notifications',
    {
      schema: {
        tags: ['notifications'],
        summary: 'The caller’s notifications, newest first, with their e-mail delivery status',
        querystring: z.strictObject({ ...pageQuery }),
        response: { 200: pageOf(notificationView), ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const p = caller(request);
      const qb = db.selectFrom('notifications').selectAll().where('user_id', '=', p.userId);
      const page = await keysetPage(qb, {
        idColumn: 'notifications.id',
        limit: request.query.limit,
        cursor: request.query.cursor,
        sort: { column: 'notifications.created_at', direction: 'desc' },
      });
      return {
        items: (page.items as any[]).map((n) => ({
          id: n.id,
          kind: n.kind,
          eventType: n.event_type,
          entity: n.entity,
          entityId: n.entity_id,
          subject: n.subject,
          text: n.body_text,
          createdAt: iso(n.created_at) as string,
          email: { to: n.email_to, status: n.email_status, attempts: n.attempts, sentAt: iso(n.sent_at) },
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
};

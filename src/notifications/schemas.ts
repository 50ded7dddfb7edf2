import { z } from 'zod';

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
export type NotificationView = z.infer<typeof notificationView>;

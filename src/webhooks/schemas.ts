import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from './outbox.ts';

const eventTypeSchema = z
  .string()
  .refine((t) => t === '*' || (WEBHOOK_EVENT_TYPES as readonly string[]).includes(t), {
    message: `one of *, ${WEBHOOK_EVENT_TYPES.join(', ')}`,
  });

export const createWebhookBody = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2000),
  eventTypes: z.array(eventTypeSchema).min(1).max(50),
  areaId: z
    .uuid()
    .nullable()
    .optional()
    .describe('Required for a lead; an admin may leave it out for every area'),
  description: z.string().max(500).optional(),
});
export type CreateWebhookInput = z.infer<typeof createWebhookBody>;

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
export type WebhookView = z.infer<typeof webhookView>;

export const createdWebhookView = webhookView
  .extend({ secret: z.string().describe('Shown only now: verify `X-Sanctuary-Signature` with it') })
  .meta({ id: 'CreatedWebhookSubscription' });
export type CreatedWebhookView = z.infer<typeof createdWebhookView>;

export const deliveryView = z
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
export type DeliveryView = z.infer<typeof deliveryView>;

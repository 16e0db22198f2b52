import { z } from 'zod';
import { webhookEventTypeSchema, webhookMessageIdSchema } from '../webhooks/webhook-event-types';
import { defineEvent } from './event-definition';

export const webhookDeliveryAttemptedEvent = defineEvent({
  topic: 'webhooks.delivery.attempted.v1',
  summary:
    'One HTTP attempt to deliver a webhook message to one endpoint, whatever its outcome: the delivery log the audit trail keeps.',
  schema: z.strictObject({
    messageId: webhookMessageIdSchema,
    /** The registered endpoint, or null for a task's own `webhookUrl`. */
    endpointId: z.uuid().nullable(),
    eventType: webhookEventTypeSchema,
    /** 1 for the first attempt of this message to this endpoint. */
    attempt: z.int().positive(),
    /** Scheme, host and path only: a query string may carry credentials. */
    url: z.string().max(2048),
    outcome: z.enum(['delivered', 'failed', 'refused']),
    httpStatus: z.int().min(100).max(599).nullable(),
    latencyMs: z.int().nonnegative(),
    /** The first bytes of the response body, or the connection error. */
    responseSnippet: z.string().max(1024),
    error: z.string().max(1000).nullable(),
    /** When the next attempt is due; null when delivered, dead-lettered or the endpoint was disabled. */
    nextAttemptAt: z.iso.datetime().nullable(),
    attemptedAt: z.iso.datetime(),
  }),
  partitions: 6,
  key: 'taskId',
  producers: ['webhooks'],
  consumers: ['audit'],
});
export type WebhookDeliveryAttempted = z.infer<typeof webhookDeliveryAttemptedEvent.schema>;

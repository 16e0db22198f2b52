import { z } from 'zod';

// What a webhook subscriber can receive. Each maps to one terminal task topic; endpoints subscribe by these names.
export const webhookEventTypeSchema = z.enum(['task.completed', 'task.failed', 'task.escalated', 'task.cancelled']);
export type WebhookEventType = z.infer<typeof webhookEventTypeSchema>;
export const WEBHOOK_EVENT_TYPES = webhookEventTypeSchema.options;

/** Standard Webhooks message ids: stable across every attempt of one message, so receivers can deduplicate. */
export const webhookMessageIdSchema = z.string().regex(/^msg_[A-Za-z0-9]{10,64}$/, 'must be a msg_… id');

import { z } from 'zod';
import { webhookEventTypeSchema, webhookMessageIdSchema } from '../webhooks/webhook-event-types';
import { defineEvent } from './event-definition';

export const webhookMessageDeadLetteredEvent = defineEvent({
  topic: 'webhooks.message.dead-lettered.v1',
  summary:
    'Every scheduled attempt to deliver a message to an endpoint failed: it is kept as a dead letter, with its last error, until replayed.',
  schema: z.strictObject({
    messageId: webhookMessageIdSchema,
    endpointId: z.uuid().nullable(),
    eventType: webhookEventTypeSchema,
    /** 0 when the endpoint was disabled before the message's first attempt. */
    attempts: z.int().nonnegative(),
    lastError: z.string().max(1000),
    deadLetteredAt: z.iso.datetime(),
  }),
  partitions: 3,
  key: 'taskId',
  producers: ['webhooks'],
  consumers: ['audit'],
});
export type WebhookMessageDeadLettered = z.infer<typeof webhookMessageDeadLetteredEvent.schema>;

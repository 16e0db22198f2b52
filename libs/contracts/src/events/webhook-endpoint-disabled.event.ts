import { z } from 'zod';
import { defineEvent } from './event-definition';

export const webhookEndpointDisabledEvent = defineEvent({
  topic: 'webhooks.endpoint.disabled.v1',
  summary:
    "A tenant's webhook endpoint stopped receiving: it answered 410 Gone, failed without a success for too long, or an admin disabled it.",
  schema: z.strictObject({
    endpointId: z.uuid(),
    url: z.string().max(2048),
    reason: z.enum(['gone', 'sustained_failure', 'manual']),
    message: z.string().max(1000),
    disabledAt: z.iso.datetime(),
  }),
  partitions: 3,
  key: 'tenantId',
  producers: ['webhooks'],
  consumers: ['audit'],
});
export type WebhookEndpointDisabled = z.infer<typeof webhookEndpointDisabledEvent.schema>;

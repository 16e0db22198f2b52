import { z } from 'zod';
import { tenantIdSchema } from '../http/admin.dto';
import { taskErrorSchema, taskResultSchema } from '../task/task-result.schema';
import { tokenUsageSchema } from '../task/token-usage.schema';
import { WEBHOOK_EVENT_TYPES, webhookEventTypeSchema, webhookMessageIdSchema } from './webhook-event-types';

// The webhooks API behind the gateway (/v1/webhooks/*), and the body every webhook delivery carries.

const MAX_OVERLAP_SECONDS = 30 * 24 * 3600;

const eventTypesSchema = z
  .array(webhookEventTypeSchema)
  .min(1, 'subscribe to at least one event type')
  .refine((types) => new Set(types).size === types.length, 'lists an event type twice');

export const createWebhookEndpointRequestSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  description: z.string().max(500).default(''),
  /** Default: every event type. */
  eventTypes: eventTypesSchema.default([...WEBHOOK_EVENT_TYPES]),
});
export type CreateWebhookEndpointRequest = z.input<typeof createWebhookEndpointRequestSchema>;

export const updateWebhookEndpointRequestSchema = z
  .strictObject({
    url: z.string().min(1).max(2048).optional(),
    description: z.string().max(500).optional(),
    eventTypes: eventTypesSchema.optional(),
  })
  .refine((u) => Object.keys(u).length > 0, 'change at least one of url, description, eventTypes');
export type UpdateWebhookEndpointRequest = z.input<typeof updateWebhookEndpointRequestSchema>;

export const rotateWebhookSecretRequestSchema = z.strictObject({
  /** How long the old secret keeps signing alongside the new one; default WEBHOOKS_SECRET_OVERLAP_MS. */
  overlapSeconds: z.int().min(0).max(MAX_OVERLAP_SECONDS).optional(),
});

export const webhookEndpointResponseSchema = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(webhookEventTypeSchema),
  status: z.enum(['enabled', 'disabled']),
  disabledReason: z.enum(['gone', 'sustained_failure', 'manual']).nullable(),
  disabledMessage: z.string().nullable(),
  disabledAt: z.iso.datetime().nullable(),
  failingSince: z.iso.datetime().nullable(),
  secretRotatedAt: z.iso.datetime().nullable(),
  /** While set and in the future, deliveries carry a second signature made with the previous secret. */
  previousSecretExpiresAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type WebhookEndpointResponse = z.infer<typeof webhookEndpointResponseSchema>;

/** Creation and rotation answer with the secret, once; it is never shown again. */
export const webhookEndpointWithSecretResponseSchema = webhookEndpointResponseSchema.extend({
  secret: z.string().startsWith('whsec_'),
});
export type WebhookEndpointWithSecretResponse = z.infer<typeof webhookEndpointWithSecretResponseSchema>;

export const taskWebhookSecretResponseSchema = z.object({
  tenantId: z.string(),
  createdAt: z.iso.datetime(),
  secretRotatedAt: z.iso.datetime().nullable(),
  previousSecretExpiresAt: z.iso.datetime().nullable(),
});
export type TaskWebhookSecretResponse = z.infer<typeof taskWebhookSecretResponseSchema>;

export const taskWebhookSecretWithSecretResponseSchema = taskWebhookSecretResponseSchema.extend({
  secret: z.string().startsWith('whsec_'),
});
export type TaskWebhookSecretWithSecretResponse = z.infer<typeof taskWebhookSecretWithSecretResponseSchema>;

export const webhookDeliveryStatusSchema = z.enum(['pending', 'delivered', 'dead_lettered']);

export const webhookDeliveryResponseSchema = z.object({
  /** The message id: the webhook-id header of every attempt. */
  id: webhookMessageIdSchema,
  tenantId: z.string(),
  taskId: z.uuid(),
  eventType: webhookEventTypeSchema,
  endpointId: z.uuid().nullable(),
  /** Scheme, host and path of the target. */
  url: z.string(),
  status: webhookDeliveryStatusSchema,
  attempts: z.int().nonnegative(),
  nextAttemptAt: z.iso.datetime().nullable(),
  lastHttpStatus: z.int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime(),
  deliveredAt: z.iso.datetime().nullable(),
  deadLetteredAt: z.iso.datetime().nullable(),
});
export type WebhookDeliveryResponse = z.infer<typeof webhookDeliveryResponseSchema>;

export const webhookDeliveryAttemptResponseSchema = z.object({
  attempt: z.int().positive(),
  url: z.string(),
  outcome: z.enum(['delivered', 'failed', 'refused']),
  httpStatus: z.int().nullable(),
  latencyMs: z.int().nonnegative(),
  responseSnippet: z.string(),
  error: z.string().nullable(),
  scheduledAt: z.iso.datetime(),
  attemptedAt: z.iso.datetime(),
  nextAttemptAt: z.iso.datetime().nullable(),
});
export type WebhookDeliveryAttemptResponse = z.infer<typeof webhookDeliveryAttemptResponseSchema>;

export const webhookDeliveryDetailResponseSchema = webhookDeliveryResponseSchema.extend({
  attemptLog: z.array(webhookDeliveryAttemptResponseSchema),
});
export type WebhookDeliveryDetailResponse = z.infer<typeof webhookDeliveryDetailResponseSchema>;

export const webhookDeliveryListResponseSchema = z.object({
  deliveries: z.array(webhookDeliveryResponseSchema),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with offset' });

export const webhookDeliveriesQuerySchema = z
  .strictObject({
    tenantId: tenantIdSchema.optional().meta({ description: 'platform admin only: the tenant acted on' }),
    status: webhookDeliveryStatusSchema.optional(),
    endpointId: z.uuid().optional(),
    taskId: z.uuid().optional(),
    from: instant.optional().meta({ description: 'created at or after' }),
    to: instant.optional().meta({ description: 'created before' }),
    cursor: webhookMessageIdSchema.optional().meta({ description: 'nextCursor of the previous page' }),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    path: ['to'],
    message: 'must be after from',
  });

export const replayWebhooksRequestSchema = z
  .strictObject({
    from: instant,
    to: instant,
    endpointId: z.uuid().optional(),
  })
  .refine((r) => Date.parse(r.from) < Date.parse(r.to), { path: ['to'], message: 'must be after from' });
export type ReplayWebhooksRequest = z.infer<typeof replayWebhooksRequestSchema>;

/** The JSON body of a webhook: `type` says which terminal event; `data` carries what the task ended with. */
export const webhookPayloadSchema = z.strictObject({
  type: webhookEventTypeSchema,
  /** When the task reached this state. */
  timestamp: z.iso.datetime(),
  data: z.strictObject({
    taskId: z.uuid(),
    status: z.enum(['completed', 'failed', 'needs_human', 'cancelled']),
    result: taskResultSchema.optional(),
    error: taskErrorSchema.optional(),
    /** Escalated and cancelled: why. */
    reason: z.string().optional(),
    /** Escalated: what the fallback chain tried. */
    attempts: z.array(z.string()).optional(),
    /** Cancelled: usage consumed before the abort, when known. */
    usage: tokenUsageSchema.nullable().optional(),
    /** The task's metadata as submitted; empty when the task's acceptance was never seen. */
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  }),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

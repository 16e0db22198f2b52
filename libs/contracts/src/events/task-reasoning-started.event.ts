import { z } from 'zod';
import { serviceTierSchema } from '../task/service-tier.schema';
import { modelTierSchema } from './model-call-recorded.event';
import { defineEvent } from './event-definition';

export const taskReasoningStartedEvent = defineEvent({
  topic: 'tasks.task.reasoning-started.v1',
  summary: 'The executor started a model call for the task (one event per attempt, fallbacks included).',
  schema: z.strictObject({
    executionId: z.uuid(),
    attempt: z.int().positive(),
    tier: modelTierSchema,
    model: z.string(),
    maxCompletionTokens: z.int().positive().nullable(),
    reasoningEffort: z.string().nullable(),
    deadlineAt: z.iso.datetime().nullable(),
    startedAt: z.iso.datetime(),
    /** The service tier asked of the provider, and why (the tenant's policy for the latency budget, a refusal). */
    serviceTier: serviceTierSchema.nullable().default(null),
    serviceTierReason: z.string().max(500).nullable().default(null),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['reasoner'],
  consumers: ['gateway', 'audit'],
});
export type TaskReasoningStarted = z.infer<typeof taskReasoningStartedEvent.schema>;

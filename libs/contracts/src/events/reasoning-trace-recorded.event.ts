import { z } from 'zod';
import { tokenUsageSchema } from '../task/token-usage.schema';
import { modelTierSchema } from './model-call-recorded.event';
import { defineEvent } from './event-definition';
import { contextSelectionEntrySchema } from './reasoning-requested.event';

// The externalized reasoning of one attempt, for the audit store: what the model was asked, what it thought
// (its <reasoning> block, and the provider's own reasoning content where it returns one), and what it answered.
export const reasoningTraceRecordedEvent = defineEvent({
  topic: 'reasoning.trace.recorded.v1',
  summary: 'The prompt, the externalized reasoning trace and the answer of one reasoning attempt.',
  schema: z.strictObject({
    executionId: z.uuid(),
    attempt: z.int().positive(),
    tier: modelTierSchema,
    model: z.string(),
    /** The messages sent, context documents included, as the model saw them. */
    prompt: z.array(z.strictObject({ role: z.string(), content: z.string() })),
    /** Context documents the triage kept, with why; null when none were filtered. */
    contextSelection: z.array(contextSelectionEntrySchema).nullable(),
    trace: z.string().nullable(),
    providerReasoning: z.string().nullable(),
    answer: z.string().nullable(),
    /** How the output was read: tags found, tags missing, truncated. */
    parse: z.enum(['tagged', 'untagged', 'truncated', 'empty']),
    finishReason: z.string().nullable(),
    usage: tokenUsageSchema,
    outcome: z.enum(['answered', 'limit_hit', 'deadline', 'error', 'cancelled', 'budget_denied']),
    recordedAt: z.iso.datetime(),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['reasoner'],
  consumers: ['audit'],
  cuttableTexts: ['prompt[].content', 'trace', 'providerReasoning', 'answer'],
});
export type ReasoningTraceRecorded = z.infer<typeof reasoningTraceRecordedEvent.schema>;

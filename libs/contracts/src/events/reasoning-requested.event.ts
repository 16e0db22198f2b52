import { z } from 'zod';
import { taskSpecSchema } from '../task/task-spec.schema';
import { defineEvent } from './event-definition';
import { triageDecisionSchema } from './task-triaged.event';

export const contextSelectionEntrySchema = z.strictObject({
  /** Position in the context the client sent (0-based). */
  index: z.int().nonnegative(),
  id: z.string().nullable(),
  title: z.string().nullable(),
  score: z.number(),
  reason: z.string().max(1000),
  kept: z.boolean(),
});
export type ContextSelectionEntry = z.infer<typeof contextSelectionEntrySchema>;

export const reasoningRequestedEvent = defineEvent({
  topic: 'reasoning.task.requested.v1',
  summary: 'A task the triage sent to the reasoning tier, with everything the executor needs.',
  schema: z.strictObject({
    spec: taskSpecSchema,
    decision: triageDecisionSchema,
    /**
     * When the task came with more context documents than the reasoning model should read, the triage ranked them
     * with the fast model and `spec.context` keeps only the top ones; this says which were kept and why.
     */
    contextSelection: z.array(contextSelectionEntrySchema).nullable().default(null),
    requestedAt: z.iso.datetime(),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['triage'],
  consumers: ['reasoner', 'audit'],
  cuttableTexts: ['spec.context[].content', 'contextSelection[].reason'],
});
export type ReasoningRequested = z.infer<typeof reasoningRequestedEvent.schema>;

import { z } from 'zod';
import { defineEvent } from './event-definition';

export const triageRouteSchema = z.enum(['fast', 'reasoning']);
export type TriageRoute = z.infer<typeof triageRouteSchema>;

export const complexityClassificationSchema = z.strictObject({
  complexity: z.enum(['simple', 'complex']),
  reason: z.string().max(2000),
});
export type ComplexityClassification = z.infer<typeof complexityClassificationSchema>;

export const triageDecisionSchema = z.strictObject({
  route: triageRouteSchema,
  decidedBy: z.enum(['rule', 'model', 'fallback']),
  /** The rule that decided, when a rule did: `explicit-mode`, `latency-budget`, ... */
  rule: z.string().nullable(),
  classification: complexityClassificationSchema.nullable(),
  reason: z.string().max(4000),
});
export type TriageDecision = z.infer<typeof triageDecisionSchema>;

export const taskTriagedEvent = defineEvent({
  topic: 'tasks.task.triaged.v1',
  summary: 'The triage decided which tier answers the task, and why.',
  schema: z.strictObject({ decision: triageDecisionSchema, triagedAt: z.iso.datetime() }),
  partitions: 12,
  key: 'taskId',
  producers: ['triage'],
  consumers: ['gateway', 'audit'],
});
export type TaskTriaged = z.infer<typeof taskTriagedEvent.schema>;

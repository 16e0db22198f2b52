import { z } from 'zod';
import { taskSpecSchema } from '../task/task-spec.schema';
import { defineEvent } from './event-definition';
import { triageDecisionSchema } from './task-triaged.event';

export const reasoningRequestedEvent = defineEvent({
  topic: 'reasoning.task.requested.v1',
  summary: 'A task the triage sent to the reasoning tier, with everything the executor needs.',
  schema: z.strictObject({
    spec: taskSpecSchema,
    decision: triageDecisionSchema,
    requestedAt: z.iso.datetime(),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['triage'],
  consumers: ['reasoner'],
});
export type ReasoningRequested = z.infer<typeof reasoningRequestedEvent.schema>;

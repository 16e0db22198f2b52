import { z } from 'zod';
import { defineEvent } from './event-definition';

export const taskEscalatedEvent = defineEvent({
  topic: 'tasks.task.escalated.v1',
  summary: 'The fallback chain ended at a human: the task waits in the review queue (status needs_human).',
  schema: z.strictObject({
    reason: z.string().max(4000),
    /** What was tried before, in order: `reasoning:limit_hit`, `standard:server_error`, ... */
    attempts: z.array(z.string()).max(50),
    escalatedAt: z.iso.datetime(),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['triage', 'reasoner'],
  consumers: ['gateway', 'webhooks', 'audit'],
});
export type TaskEscalated = z.infer<typeof taskEscalatedEvent.schema>;

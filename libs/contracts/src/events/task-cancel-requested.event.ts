import { z } from 'zod';
import { defineEvent } from './event-definition';

export const taskCancelRequestedEvent = defineEvent({
  topic: 'tasks.task.cancel-requested.v1',
  summary:
    'A client asked to cancel the task; the service holding it aborts its work and publishes tasks.task.cancelled.v1.',
  schema: z.strictObject({
    requestedBy: z.string().max(200),
    reason: z.string().max(1000).nullable(),
    requestedAt: z.iso.datetime(),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['gateway'],
  consumers: ['reasoner', 'audit'],
});
export type TaskCancelRequested = z.infer<typeof taskCancelRequestedEvent.schema>;

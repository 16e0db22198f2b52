import { z } from 'zod';
import { taskResultSchema } from '../task/task-result.schema';
import { defineEvent } from './event-definition';

export const taskCompletedEvent = defineEvent({
  topic: 'tasks.task.completed.v1',
  summary: 'A task has its answer. Downstream systems subscribe here.',
  schema: z.strictObject({ result: taskResultSchema, completedAt: z.iso.datetime() }),
  partitions: 12,
  key: 'taskId',
  producers: ['triage', 'reasoner', 'gateway'],
  consumers: ['gateway', 'webhooks', 'audit', 'downstream systems'],
});
export type TaskCompleted = z.infer<typeof taskCompletedEvent.schema>;

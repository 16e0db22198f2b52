import { z } from 'zod';
import { taskErrorSchema } from '../task/task-result.schema';
import { defineEvent } from './event-definition';

export const taskFailedEvent = defineEvent({
  topic: 'tasks.task.failed.v1',
  summary: 'A task ended without an answer; `error.code` says why.',
  schema: z.strictObject({ error: taskErrorSchema, failedAt: z.iso.datetime() }),
  partitions: 12,
  key: 'taskId',
  producers: ['triage', 'reasoner'],
  consumers: ['gateway', 'webhooks', 'audit', 'downstream systems'],
});
export type TaskFailed = z.infer<typeof taskFailedEvent.schema>;

import { z } from 'zod';
import { taskResultSchema } from '../task/task-result.schema';
import { defineEvent } from './event-definition';

export const taskCompletedEvent = defineEvent({
  topic: 'tasks.task.completed.v1',
  summary: 'A task has its answer. Downstream systems subscribe here.',
  schema: z.strictObject({
    result: taskResultSchema,
    completedAt: z.iso.datetime(),
    /** Set when a person answered from the review queue (`answeredBy: human`): who, and since when they held it. */
    review: z
      .strictObject({ reviewerKeyId: z.string().min(1).max(100), claimedAt: z.iso.datetime() })
      .nullable()
      .default(null),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['triage', 'reasoner', 'gateway'],
  consumers: ['gateway', 'webhooks', 'audit', 'downstream systems'],
  cuttableTexts: ['result.answer'],
});
export type TaskCompleted = z.infer<typeof taskCompletedEvent.schema>;

import { z } from 'zod';
import { tokenUsageSchema } from '../task/token-usage.schema';
import { defineEvent } from './event-definition';

export const taskCancelledEvent = defineEvent({
  topic: 'tasks.task.cancelled.v1',
  summary:
    'The task ended cancelled; usage consumed before the abort, where the provider reported it, is included.',
  schema: z.strictObject({
    reason: z.string().max(1000),
    usage: tokenUsageSchema.nullable(),
    cancelledAt: z.iso.datetime(),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['reasoner', 'gateway'],
  consumers: ['gateway', 'webhooks', 'audit', 'downstream systems'],
});
export type TaskCancelled = z.infer<typeof taskCancelledEvent.schema>;

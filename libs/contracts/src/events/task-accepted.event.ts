import { z } from 'zod';
import { taskSpecSchema } from '../task/task-spec.schema';
import { defineEvent } from './event-definition';

export const taskAcceptedEvent = defineEvent({
  topic: 'tasks.task.accepted.v1',
  summary: 'A task passed admission (over HTTP or from the intake topic) and waits for triage.',
  schema: z.strictObject({
    spec: taskSpecSchema,
    submittedVia: z.enum(['http', 'kafka']),
    acceptedAt: z.iso.datetime(),
  }),
  partitions: 12,
  key: 'taskId',
  producers: ['gateway'],
  consumers: ['triage', 'webhooks', 'audit'],
  cuttableTexts: ['spec.context[].content'],
});
export type TaskAccepted = z.infer<typeof taskAcceptedEvent.schema>;

import { taskSubmissionSchema } from '../task/task-spec.schema';
import { defineEvent } from './event-definition';

// The intake topic for upstream systems: the same body as POST /v1/tasks. The envelope must carry tenantid and taskid.
export const taskSubmittedEvent = defineEvent({
  topic: 'tasks.task.submitted.v1',
  summary:
    'A task published by an upstream system. The gateway admits it (tenant, schema, idempotency on task id) and publishes tasks.task.accepted.v1.',
  schema: taskSubmissionSchema,
  partitions: 12,
  key: 'taskId',
  producers: ['upstream systems'],
  consumers: ['gateway'],
});

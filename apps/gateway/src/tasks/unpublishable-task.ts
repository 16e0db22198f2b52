import { type TaskAccepted, taskAcceptedEvent, type TaskError } from '@deliberate/contracts';
import type { DeadOutboxMessage } from '@deliberate/outbox';
import { acceptedEventBytes } from './accepted-event-size';

// A task whose accepted event can never be published (stored before its size was checked, or under a higher
// KAFKA_MAX_MESSAGE_BYTES) fails with the reason instead of waiting forever for an announcement.

export interface UnpublishableTask {
  tenantId: string;
  taskId: string;
  error: TaskError;
}

export function unpublishableTask(
  dead: DeadOutboxMessage,
  maxMessageBytes: number,
): UnpublishableTask | null {
  const { message, reason } = dead;
  if (message.topic !== taskAcceptedEvent.topic || !message.taskId) return null;
  const data = message.payload as Partial<TaskAccepted> | null;
  const bytes = data?.spec && data.submittedVia ? acceptedEventBytes(data.spec, data.submittedVia) : 0;
  const error: TaskError =
    bytes > maxMessageBytes
      ? {
          code: 'task_too_large',
          message: `the task's event would take ${bytes} bytes, above the Kafka message limit of ${maxMessageBytes} bytes`,
        }
      : { code: 'task_not_publishable', message: reason };
  return { tenantId: message.tenantId, taskId: message.taskId, error };
}

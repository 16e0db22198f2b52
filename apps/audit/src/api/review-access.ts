import {
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
} from '@deliberate/contracts';

// A reviewer may read a task's audit trail only while the task waits for a human, decided from the task's own
// records in the chain: escalated, and not answered, cancelled or failed. An ended task never waits again, so any
// ending refuses, whatever order the records arrived in.

export type ReviewAccess = { allowed: true } | { allowed: false; reason: string };

/** What the decision reads of each of the task's records. */
export interface TaskRecordFact {
  type: string;
  occurredAt: string;
  // Who decided: for a completion, 'human' when a reviewer answered it.
  decision: string | null;
}

const ENDINGS: Readonly<Record<string, string>> = {
  [taskCompletedEvent.topic]: 'completed',
  [taskCancelledEvent.topic]: 'cancelled',
  [taskFailedEvent.topic]: 'failed',
};

export function reviewerAccess(taskId: string, records: readonly TaskRecordFact[]): ReviewAccess {
  const ending = records.find((r) => ENDINGS[r.type] !== undefined);
  if (ending) {
    const how =
      ending.type === taskCompletedEvent.topic && ending.decision === 'human'
        ? 'answered by a reviewer'
        : ENDINGS[ending.type];
    return {
      allowed: false,
      reason: `task ${taskId} was ${how} at ${ending.occurredAt} and no longer waits for a reviewer`,
    };
  }
  if (!records.some((r) => r.type === taskEscalatedEvent.topic)) {
    return {
      allowed: false,
      reason: `task ${taskId} has not been escalated to a human, so a reviewer cannot read its trail`,
    };
  }
  return { allowed: true };
}

import type { Sql } from '@deliberate/persistence';
import type { TaskResult } from '@deliberate/contracts';
import type { ExecutionRecord } from './execution-record';
import type { TaskLimits } from './task-limits';

/** An execution that completed with an answer, as its outcome is being stored. */
export interface CompletedExecution {
  execution: ExecutionRecord;
  result: TaskResult;
  limits: TaskLimits;
}

/**
 * Writes what follows a completion, in the transaction that stores the outcome: stored with it or not at all. Shadow
 * evaluation's scheduler is the one; the execution folder knows only this port.
 */
export abstract class CompletionRecorder {
  abstract recordCompletion(tx: Sql, completed: CompletedExecution): Promise<void>;
}

import { z } from 'zod';

export const taskStatusSchema = z.enum([
  'accepted',
  'triaging',
  'queued_for_reasoning',
  'reasoning',
  'completed',
  'failed',
  'needs_human',
  'cancelled',
]);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

// Events reach the read model from several topics, so their order across topics is not guaranteed.
// A status only ever moves forward in this order; a late event for an earlier stage changes nothing.
const STATUS_RANK: Record<TaskStatus, number> = {
  accepted: 0,
  triaging: 1,
  queued_for_reasoning: 2,
  reasoning: 3,
  needs_human: 4,
  completed: 10,
  failed: 10,
  cancelled: 10,
};

export function statusRank(status: TaskStatus): number {
  return STATUS_RANK[status];
}

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

import type { TaskResponse } from '@deliberate/contracts';
import { formatUsage } from '../wait/status-line';

// How a task reads to a person: `get` prints it whole; `submit --wait` says why a task did not complete.

export const taskSummary = (t: TaskResponse) => `task ${t.id} ${t.status}`;

/** Why a task ended other than completed (or is still going), in one line. */
export function describeOutcome(t: TaskResponse): string {
  switch (t.status) {
    case 'failed':
      return `task ${t.id} failed: ${t.error ? `${t.error.code}: ${t.error.message}` : 'no error given'}`;
    case 'cancelled':
      return `task ${t.id} was cancelled${t.cancellation ? `: ${t.cancellation.reason}` : ''}`;
    case 'needs_human':
      return `task ${t.id} waits for a human review${t.escalation ? `: ${t.escalation.reason}` : ''} (deliberate review list)`;
    case 'completed':
      return `task ${t.id} completed`;
    case 'accepted':
    case 'triaging':
    case 'queued_for_reasoning':
    case 'reasoning':
      return `task ${t.id} is still ${t.status}`;
  }
}

export function formatTask(t: TaskResponse): string {
  const lines = [
    `task      ${t.id}`,
    `status    ${t.status}`,
    `mode      ${t.mode}${t.triage ? ` (triage: ${JSON.stringify(t.triage)})` : ''}`,
    `created   ${t.createdAt}`,
    `updated   ${t.updatedAt}`,
  ];
  if (Object.keys(t.metadata).length > 0) lines.push(`metadata  ${JSON.stringify(t.metadata)}`);
  if (t.result) {
    lines.push(
      `answered  by ${t.result.answeredBy}${t.result.model ? ` (${t.result.model})` : ''} in ${t.result.latencyMs} ms`,
    );
    if (t.result.usage) lines.push(`usage     ${formatUsage(t.result.usage)}`);
    if (t.result.degraded) lines.push(`degraded  ${t.result.degraded.reason}`);
  }
  if (t.status !== 'completed' && t.status !== 'accepted') lines.push(`outcome   ${describeOutcome(t)}`);
  if (t.result) lines.push('', t.result.answer);
  return lines.join('\n');
}

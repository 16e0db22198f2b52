import type { MeResponse, SpendResponse } from '@deliberate/contracts';
import type { GatewayClient } from '../http/gateway-client';

// What `submit --wait` shows of a task's cost: what the ledger has booked for its calls so far. Spend is readable by
// admin and auditor keys only; for any other key (a submitter's) the status line says nothing of cost.

export const mayReadSpend = (me: MeResponse): boolean =>
  me.kind === 'platform-admin' || (me.kind === 'tenant' && (me.role === 'admin' || me.role === 'auditor'));

/** Reads one task's booked cost in micro-USD; null when it cannot be read this time (the wait goes on). */
export type TaskCostReader = (taskId: string) => Promise<number | null>;

const DAY_MS = 86_400_000;

/**
 * Asks once who the key is: a reader of the task's booked cost when it may read spend, else null. A failed
 * question is a null too: cost is extra to the wait, never a reason for it to fail.
 */
export async function taskCostReader(client: GatewayClient, nowMs: number): Promise<TaskCostReader | null> {
  let me: MeResponse;
  try {
    me = await client.request<MeResponse>('GET', '/v1/me');
  } catch {
    return null;
  }
  if (!mayReadSpend(me)) return null;
  // The report's period must hold the task's calls: from the day before it was submitted (the default would start
  // at the month's first day, and miss a task submitted just before it).
  const from = new Date(nowMs - DAY_MS).toISOString();
  return async (taskId) => {
    try {
      const spend = await client.request<SpendResponse>('GET', '/v1/ledger/spend', {
        query: { taskId, groupBy: 'model', from },
      });
      return spend.total.costMicroUsd;
    } catch {
      return null;
    }
  };
}

import { Injectable } from '@nestjs/common';
import type { BilledUsage } from './call-cost';

// The provider's own record of what it charges: one row per call it finished generating, whether or not the client
// was still there to read the answer. Calls refused (4xx, injected 429/500/503, flex without capacity) or never
// answered (hang) cost nothing. A response is billed once, when it ends: completed, incomplete, or cancelled after it
// started (for what it had used by then).

export type BilledApi = 'chat.completions' | 'responses';
export type BilledServiceTier = 'default' | 'flex';
export type BilledStatus = 'completed' | 'incomplete' | 'cancelled';

export interface BilledCall {
  /** The caller's `x-client-request-id`, or null when it sent none. */
  clientRequestId: string | null;
  /** The simulator's `x-request-id` for the call. */
  requestId: string;
  model: string;
  usage: BilledUsage;
  costMicroUsd: number;
  /** When generation finished (UTC ISO). */
  billedAt: string;
  /** False when the client had gone before the answer was ready: billed all the same. Always true for background. */
  clientConnected: boolean;
  api: BilledApi;
  /** The Responses API's `resp_…` id; null for chat completions. */
  responseId: string | null;
  /** The tier the call was served (and priced) at. */
  serviceTier: BilledServiceTier;
  /** True for a Responses API call made with `background: true`. */
  background: boolean;
  status: BilledStatus;
}

export interface BillTotals {
  calls: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costMicroUsd: number;
}

export interface BillBody {
  object: 'bill';
  since: string | null;
  totals: BillTotals;
  calls: BilledCall[];
}

export function billTotals(calls: readonly BilledCall[]): BillTotals {
  const totals: BillTotals = {
    calls: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    costMicroUsd: 0,
  };
  for (const call of calls) {
    totals.calls++;
    totals.inputTokens += call.usage.inputTokens;
    totals.cachedInputTokens += call.usage.cachedInputTokens;
    totals.outputTokens += call.usage.outputTokens;
    totals.reasoningTokens += call.usage.reasoningTokens;
    totals.costMicroUsd += call.costMicroUsd;
  }
  return totals;
}

@Injectable()
export class SimulatorBill {
  // Kept in billing order, so `since` reads the tail.
  private calls: BilledCall[] = [];

  record(call: BilledCall): void {
    this.calls.push(call);
  }

  /** The calls billed at or after `since` (all of them when null), with their totals. */
  statement(since: Date | null): BillBody {
    const from = since?.getTime() ?? Number.NEGATIVE_INFINITY;
    const calls = this.calls.filter((call) => Date.parse(call.billedAt) >= from);
    return { object: 'bill', since: since?.toISOString() ?? null, totals: billTotals(calls), calls };
  }

  /** Forgets every call billed so far (tests start from an empty bill). */
  reset(): number {
    const dropped = this.calls.length;
    this.calls = [];
    return dropped;
  }
}

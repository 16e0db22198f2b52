import type { BudgetDeniedAction, ReservationDenialReason } from '@deliberate/contracts';
import { ModelCallError } from '@deliberate/llm';
import { jitteredBackoffMs } from '@deliberate/retry';

// The small decisions around a fast-model call's retries, kept pure so their edges are tested without a broker.

/** When the task's outages stop being waited out: its latency budget after acceptance, or the configured default. */
export function taskDeadline(acceptedAt: string, latencyBudgetMs: number | null, defaultMs: number): Date {
  return new Date(Date.parse(acceptedAt) + (latencyBudgetMs ?? defaultMs));
}

/** A model failure worth another try later: a 5xx, a timeout, a 429 or a broken connection. */
export function isRetryableModelError(e: unknown): e is ModelCallError {
  return (
    e instanceof ModelCallError &&
    e.retryable &&
    (e.kind === 'server_error' ||
      e.kind === 'timeout' ||
      e.kind === 'rate_limited' ||
      e.kind === 'connection')
  );
}

/** A failed call the provider may have billed without saying how much: booked at its hold's worst case. */
export function mayHaveBeenBilled(e: unknown): boolean {
  return (
    !(e instanceof ModelCallError) || e.kind === 'timeout' || e.kind === 'connection' || e.kind === 'aborted'
  );
}

/** Denials that are a real verdict on spend; `ledger_unavailable` is an outage, the rest are refusals. */
export function isBudgetDenial(reason: ReservationDenialReason): boolean {
  return reason === 'budget_exceeded' || reason === 'task_ceiling_exceeded' || reason === 'breaker_open';
}

export type DenialVerdict = 'fail' | 'escalate';

/**
 * What a budget denial does to a triage task. The fast tier is already the cheap one, so `route_cheap` has nowhere
 * cheaper to go: it fails like `fail`. Only `human` sends the task to a person.
 */
export function denialVerdict(action: BudgetDeniedAction): DenialVerdict {
  switch (action) {
    case 'fail':
    case 'route_cheap':
      return 'fail';
    case 'human':
      return 'escalate';
  }
}

export type NextTry = { kind: 'retry'; retryAt: Date } | { kind: 'give_up' };

/**
 * When a task whose call failed retryably tries again: a jittered exponential backoff by the number of tries already
 * scheduled (at least the provider's Retry-After), or not at all when that would come at or after its deadline.
 */
export function nextTry(options: {
  now: number;
  deadlineAt: Date;
  /** Tries scheduled before this one. */
  retryAttempts: number;
  retryAfterMs: number | null;
  baseMs: number;
  maxMs: number;
  random?: () => number;
}): NextTry {
  const delayMs = Math.max(
    options.retryAfterMs ?? 0,
    jitteredBackoffMs(options.retryAttempts + 1, options.baseMs, options.maxMs, options.random),
  );
  const retryAt = options.now + delayMs;
  return retryAt >= options.deadlineAt.getTime()
    ? { kind: 'give_up' }
    : { kind: 'retry', retryAt: new Date(retryAt) };
}

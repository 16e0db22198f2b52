/** What happens after a failed attempt: another attempt at `at`, or none left. */
export type NextAttempt = { kind: 'retry'; at: Date } | { kind: 'exhausted' };

export interface RetryPolicy {
  /** Delay before each attempt; index 0 is the first attempt (usually 0: at once). */
  schedule: readonly number[];
  jitter: number;
  retryAfterMaxMs: number;
}

/**
 * After attempt `step` of the current round failed (1-based), when the next one is due. A Retry-After from the
 * receiver (429, 503) postpones it, within the cap, but never brings it forward.
 */
export function nextAttempt(
  policy: RetryPolicy,
  step: number,
  now: Date,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): NextAttempt {
  if (step >= policy.schedule.length) return { kind: 'exhausted' };
  const base = policy.schedule[step]!;
  let delay = base * (1 + (random() * 2 - 1) * policy.jitter);
  if (retryAfterMs !== null) delay = Math.max(delay, Math.min(retryAfterMs, policy.retryAfterMaxMs));
  return { kind: 'retry', at: new Date(now.getTime() + Math.round(delay)) };
}

/** A Retry-After header in seconds or as an HTTP date, in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now.getTime());
}

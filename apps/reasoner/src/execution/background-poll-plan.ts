import type { BackgroundPollPolicy, ModelCallErrorKind } from '@deliberate/llm';

// How a background call is followed until it ends: when to poll next, and when its deadline means cancelling it at
// the provider instead. A failed poll is not a failed call: the provider still holds the work, so an outage of its
// API (5xx, timeouts, lost connections, 429) is polled through until the deadline; only an answer that no poll can
// change (the id is unknown, the key or the request refused) ends the attempt early.

export type PollStep =
  // Wait this long, then poll. The last wait ends at the deadline, so a call that finished just before it counts.
  { kind: 'poll'; delayMs: number } | { kind: 'deadline' };

/** The wait before poll number `polls + 1`: the first delay, times the factor after each poll, up to the cap. */
export function pollDelayMs(policy: BackgroundPollPolicy, polls: number): number {
  const delay = policy.firstMs * policy.factor ** Math.max(0, polls);
  return Math.round(Math.min(policy.maxMs, Number.isFinite(delay) ? delay : policy.maxMs));
}

// Each wait is the backoff ±20%: calls accepted in the same second would otherwise poll in the same second, again and
// again, and the process would send its polls in bursts.
const JITTER = 0.2;

export function nextPollStep(input: {
  policy: BackgroundPollPolicy;
  /** Polls made so far, failed ones included. */
  polls: number;
  nowMs: number;
  deadlineAtMs: number;
  /** A number in [0, 1); Math.random when absent. */
  random?: () => number;
}): PollStep {
  const leftMs = input.deadlineAtMs - input.nowMs;
  if (leftMs <= 0) return { kind: 'deadline' };
  const spread = 1 - JITTER + 2 * JITTER * (input.random ?? Math.random)();
  const delayMs = Math.max(1, Math.round(pollDelayMs(input.policy, input.polls) * spread));
  return { kind: 'poll', delayMs: Math.min(delayMs, leftMs) };
}

/** What a poll that failed means: poll again later, or end the attempt with the error. */
export function pollFailureAction(kind: ModelCallErrorKind): 'poll_again' | 'end' {
  switch (kind) {
    case 'rate_limited':
    case 'server_error':
    case 'timeout':
    case 'connection':
      return 'poll_again';
    // An unknown id (the provider lost or forgot the response), a refused key or request: no poll will change it.
    case 'not_found':
    case 'auth':
    case 'bad_request':
    // Ours: the caller tells a cancel, a deadline or a shutdown apart by its signal.
    case 'aborted':
      return 'end';
  }
}

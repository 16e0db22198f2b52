import { nextAttempt, parseRetryAfter, type RetryPolicy } from './retry-plan';

const now = new Date('2026-01-01T00:00:00Z');
const policy: RetryPolicy = { schedule: [0, 5_000, 300_000], jitter: 0, retryAfterMaxMs: 3_600_000 };
const at = (ms: number) => new Date(now.getTime() + ms);

describe('nextAttempt', () => {
  it('follows the schedule, then gives up', () => {
    expect(nextAttempt(policy, 1, now, null)).toEqual({ kind: 'retry', at: at(5_000) });
    expect(nextAttempt(policy, 2, now, null)).toEqual({ kind: 'retry', at: at(300_000) });
    expect(nextAttempt(policy, 3, now, null)).toEqual({ kind: 'exhausted' });
  });

  it('moves a delay by at most the jitter fraction either way', () => {
    const jittered = { ...policy, jitter: 0.1 };
    expect(nextAttempt(jittered, 1, now, null, () => 0)).toEqual({ kind: 'retry', at: at(4_500) });
    expect(nextAttempt(jittered, 1, now, null, () => 1)).toEqual({ kind: 'retry', at: at(5_500) });
  });

  it('honours a later Retry-After within the cap, and never brings an attempt forward', () => {
    expect(nextAttempt(policy, 1, now, 60_000)).toEqual({ kind: 'retry', at: at(60_000) });
    expect(nextAttempt(policy, 1, now, 1_000)).toEqual({ kind: 'retry', at: at(5_000) });
    expect(nextAttempt(policy, 1, now, 86_400_000)).toEqual({ kind: 'retry', at: at(3_600_000) });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});

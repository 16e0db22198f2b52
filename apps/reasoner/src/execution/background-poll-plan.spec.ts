import { nextPollStep, pollDelayMs, pollFailureAction } from './background-poll-plan';

const policy = { firstMs: 1_000, factor: 2, maxMs: 30_000 };

describe('pollDelayMs', () => {
  it('starts at the first delay and doubles up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => pollDelayMs(policy, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('stays at the first delay with a factor of 1, and never overflows the cap', () => {
    expect(pollDelayMs({ firstMs: 500, factor: 1, maxMs: 30_000 }, 1_000)).toBe(500);
    expect(pollDelayMs({ firstMs: 1, factor: 10, maxMs: 2_000 }, 100_000)).toBe(2_000);
  });
});

describe('nextPollStep', () => {
  // random 0.5: the backoff itself, without jitter.
  const at = (polls: number, nowMs: number, deadlineAtMs = 100_000) =>
    nextPollStep({ policy, polls, nowMs, deadlineAtMs, random: () => 0.5 });

  it('spreads each wait over the backoff ±20%, so calls accepted together do not poll together', () => {
    const step = (random: number) =>
      nextPollStep({ policy, polls: 3, nowMs: 0, deadlineAtMs: 100_000, random: () => random });
    expect(step(0)).toEqual({ kind: 'poll', delayMs: 6_400 });
    expect(step(0.999_999)).toEqual({ kind: 'poll', delayMs: 9_600 });
    // Never past the deadline, jitter or not.
    expect(
      nextPollStep({ policy, polls: 3, nowMs: 95_000, deadlineAtMs: 100_000, random: () => 0.99 }),
    ).toEqual({
      kind: 'poll',
      delayMs: 5_000,
    });
  });

  it('waits the backoff while the deadline is far', () => {
    expect(at(0, 0)).toEqual({ kind: 'poll', delayMs: 1_000 });
    expect(at(3, 50_000)).toEqual({ kind: 'poll', delayMs: 8_000 });
  });

  it('polls one last time at the deadline rather than after it', () => {
    expect(at(5, 95_000)).toEqual({ kind: 'poll', delayMs: 5_000 });
    expect(at(5, 99_999)).toEqual({ kind: 'poll', delayMs: 1 });
  });

  it('says deadline once it has come', () => {
    expect(at(0, 100_000)).toEqual({ kind: 'deadline' });
    expect(at(9, 250_000)).toEqual({ kind: 'deadline' });
  });
});

describe('pollFailureAction', () => {
  it('polls through an outage of the provider', () => {
    for (const kind of ['rate_limited', 'server_error', 'timeout', 'connection'] as const)
      expect(pollFailureAction(kind)).toBe('poll_again');
  });

  it('ends the attempt when no poll can change the answer', () => {
    for (const kind of ['not_found', 'auth', 'bad_request', 'aborted'] as const)
      expect(pollFailureAction(kind)).toBe('end');
  });
});

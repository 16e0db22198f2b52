import { ModelCallError, type ModelCallErrorKind } from '@deliberate/llm';
import {
  denialVerdict,
  isBudgetDenial,
  isRetryableModelError,
  mayHaveBeenBilled,
  nextTry,
  taskDeadline,
} from './call-retry';

const modelError = (kind: ModelCallErrorKind, retryable: boolean) =>
  new ModelCallError(kind, {
    kind,
    retryable,
    tier: 'fast',
    model: 'sim-fast',
    status: null,
    code: null,
    requestId: null,
    retryAfterMs: null,
    cause: undefined,
  });

describe('call-retry', () => {
  it("puts a task's deadline at its latency budget after acceptance, or the default without one", () => {
    const at = '2026-01-01T00:00:00.000Z';
    expect(taskDeadline(at, 3_000, 60_000).toISOString()).toBe('2026-01-01T00:00:03.000Z');
    expect(taskDeadline(at, null, 60_000).toISOString()).toBe('2026-01-01T00:01:00.000Z');
  });

  it.each([
    ['server_error', true, true],
    ['timeout', true, true],
    ['rate_limited', true, true],
    ['connection', true, true],
    ['bad_request', false, false],
    ['auth', false, false],
    ['not_found', false, false],
    ['aborted', false, false],
  ] as const)('retries a %s (retryable %s): %s', (kind, retryable, expected) => {
    expect(isRetryableModelError(modelError(kind, retryable))).toBe(expected);
  });

  it('books a call cut off without a provider answer at its worst case, and a refused one at what it reported', () => {
    expect(mayHaveBeenBilled(modelError('timeout', true))).toBe(true);
    expect(mayHaveBeenBilled(modelError('connection', true))).toBe(true);
    expect(mayHaveBeenBilled(modelError('server_error', true))).toBe(false);
    expect(mayHaveBeenBilled(modelError('rate_limited', true))).toBe(false);
  });

  it('takes only budget, ceiling and breaker denials as verdicts; an unanswered ledger is an outage', () => {
    expect(isBudgetDenial('budget_exceeded')).toBe(true);
    expect(isBudgetDenial('task_ceiling_exceeded')).toBe(true);
    expect(isBudgetDenial('breaker_open')).toBe(true);
    expect(isBudgetDenial('ledger_unavailable')).toBe(false);
    expect(isBudgetDenial('no_price')).toBe(false);
  });

  it('fails a denied task under fail and route_cheap (the fast tier is the cheap one) and escalates it under human', () => {
    expect(denialVerdict('fail')).toBe('fail');
    expect(denialVerdict('route_cheap')).toBe('fail');
    expect(denialVerdict('human')).toBe('escalate');
  });
});

describe('nextTry', () => {
  const base = { now: 10_000, baseMs: 200, maxMs: 5_000, retryAfterMs: null, random: () => 1 };

  it('backs off exponentially by the tries already scheduled, up to the cap', () => {
    const at = (retryAttempts: number) =>
      nextTry({ ...base, retryAttempts, deadlineAt: new Date(1_000_000) });
    expect(at(0)).toEqual({ kind: 'retry', retryAt: new Date(10_200) });
    expect(at(1)).toEqual({ kind: 'retry', retryAt: new Date(10_400) });
    expect(at(3)).toEqual({ kind: 'retry', retryAt: new Date(11_600) });
    expect(at(20)).toEqual({ kind: 'retry', retryAt: new Date(15_000) });
  });

  it("waits at least the provider's Retry-After", () => {
    expect(
      nextTry({ ...base, retryAttempts: 0, retryAfterMs: 3_000, deadlineAt: new Date(1_000_000) }),
    ).toEqual({ kind: 'retry', retryAt: new Date(13_000) });
  });

  it('gives up when the next try would come at or after the deadline', () => {
    expect(nextTry({ ...base, retryAttempts: 0, deadlineAt: new Date(10_200) })).toEqual({ kind: 'give_up' });
    expect(nextTry({ ...base, retryAttempts: 0, deadlineAt: new Date(10_201) })).toEqual({
      kind: 'retry',
      retryAt: new Date(10_200),
    });
  });
});

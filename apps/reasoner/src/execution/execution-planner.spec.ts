import type { AttemptRecord, AttemptResult, CallTier, FailureReason } from './execution-record';
import { type PlanInput, planNext } from './execution-planner';

const now = new Date('2026-01-01T00:00:10Z');
let seq = 0;

function attempt(tier: CallTier, over: Partial<AttemptRecord> = {}): AttemptRecord {
  seq += 1;
  return {
    id: `00000000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    executionId: 'e',
    attempt: seq,
    tier,
    model: tier === 'reasoning' ? 'sim-reasoner' : 'sim-standard',
    status: 'finished',
    outcome: 'answered',
    reason: null,
    detail: null,
    instanceId: 'i',
    reservationId: null,
    maxCompletionTokens: 100,
    reasoningEffort: null,
    deadlineAt: null,
    startedAt: now,
    finishedAt: now,
    finishReason: 'stop',
    usage: null,
    result: null,
    usageEventId: 'u',
    traceEventId: 't',
    ...over,
  };
}

const result = (over: Partial<AttemptResult> = {}): AttemptResult => ({
  content: '<answer>a</answer>',
  providerReasoning: null,
  trace: null,
  answer: 'a',
  parse: 'tagged',
  latencyMs: 1,
  providerModel: null,
  errorKind: null,
  errorMessage: null,
  denial: null,
  ...over,
});

const answered = (tier: CallTier) => attempt(tier, { result: result() });
const failed = (tier: CallTier, reason: FailureReason, over: Partial<AttemptRecord> = {}) =>
  attempt(tier, { outcome: 'error', reason, detail: `${reason} detail`, ...over });
const crashed = (tier: CallTier) =>
  attempt(tier, { status: 'crashed', outcome: 'error', reason: 'executor_crashed' });

function input(over: Partial<PlanInput> = {}): PlanInput {
  return {
    attempts: [],
    fallback: ['standard', 'human'],
    onBudgetDenied: 'fallback',
    maxCrashRetries: 2,
    cancelRequested: false,
    costBreaker: { open: false, policy: null, reason: null, retryAt: null },
    now,
    deadlineAt: new Date('2026-01-01T00:10:00Z'),
    reasoningDeadlineAt: new Date('2026-01-01T00:09:30Z'),
    ...over,
  };
}

describe('planNext', () => {
  it('calls the reasoning model first', () => {
    expect(planNext(input())).toEqual({ kind: 'call', tier: 'reasoning', crashRetry: 0 });
  });

  it('completes with the reasoning answer, not degraded', () => {
    const a = answered('reasoning');
    expect(planNext(input({ attempts: [a] }))).toEqual({ kind: 'complete', attempt: a, degraded: null });
  });

  it('falls back to the standard model after a limit hit, and completes degraded with that reason', () => {
    const limit = failed('reasoning', 'limit_hit', { outcome: 'limit_hit', detail: 'stopped at 100 tokens' });
    expect(planNext(input({ attempts: [limit] }))).toEqual({ kind: 'call', tier: 'standard', crashRetry: 0 });
    const fallback = answered('standard');
    expect(planNext(input({ attempts: [limit, fallback] }))).toEqual({
      kind: 'complete',
      attempt: fallback,
      degraded: { reason: 'limit_hit: stopped at 100 tokens' },
    });
  });

  it('escalates to a human when both models fail, with the attempts in order', () => {
    const plan = planNext(
      input({ attempts: [failed('reasoning', 'server_error'), failed('standard', 'server_error')] }),
    );
    expect(plan).toEqual({
      kind: 'escalate',
      reason: 'server_error: server_error detail; then standard: server_error: server_error detail',
      attempts: ['reasoning:server_error', 'standard:server_error'],
    });
  });

  it('fails when the chain has no human step', () => {
    const plan = planNext(
      input({
        fallback: ['standard'],
        attempts: [failed('reasoning', 'deadline'), failed('standard', 'deadline')],
      }),
    );
    expect(plan).toMatchObject({ kind: 'fail', code: 'reasoning_failed' });
  });

  it('retries a call cut off by a crash up to the limit, then moves down the chain', () => {
    expect(planNext(input({ attempts: [crashed('reasoning')] }))).toEqual({
      kind: 'call',
      tier: 'reasoning',
      crashRetry: 1,
    });
    expect(planNext(input({ attempts: [crashed('reasoning'), crashed('reasoning')] }))).toEqual({
      kind: 'call',
      tier: 'reasoning',
      crashRetry: 2,
    });
    const plan = planNext(
      input({ attempts: [crashed('reasoning'), crashed('reasoning'), crashed('reasoning')] }),
    );
    expect(plan).toEqual({ kind: 'call', tier: 'standard', crashRetry: 0 });
  });

  it('never calls again once an answer is recorded, whatever follows', () => {
    const a = answered('reasoning');
    expect(planNext(input({ attempts: [crashed('reasoning'), a], cancelRequested: true }))).toMatchObject({
      kind: 'complete',
      attempt: a,
    });
  });

  it('falls back on a budget denial, or fails with budget_exceeded when the tenant says so', () => {
    const denied = failed('reasoning', 'budget_denied', {
      status: 'skipped',
      outcome: 'budget_denied',
      result: result({ answer: null, denial: { reason: 'budget_exceeded', policy: 'fail' } }),
    });
    expect(planNext(input({ attempts: [denied] }))).toEqual({
      kind: 'call',
      tier: 'standard',
      crashRetry: 0,
    });
    expect(planNext(input({ attempts: [denied], onBudgetDenied: 'fail' }))).toMatchObject({
      kind: 'fail',
      code: 'budget_exceeded',
    });
  });

  it('falls back when the ledger is unreachable even if over-budget denials fail the task', () => {
    const unavailable = failed('reasoning', 'budget_denied', {
      status: 'skipped',
      result: result({ answer: null, denial: { reason: 'ledger_unavailable', policy: null } }),
    });
    expect(planNext(input({ attempts: [unavailable], onBudgetDenied: 'fail' }))).toMatchObject({
      kind: 'call',
      tier: 'standard',
    });
  });

  it("follows the tenant's cost breaker: fail refuses, route_cheap skips the reasoning model", () => {
    const open = { open: true, reason: 'spend_rate', retryAt: '2026-01-01T01:00:00Z' };
    expect(planNext(input({ costBreaker: { ...open, policy: 'fail' } }))).toMatchObject({
      kind: 'fail',
      code: 'budget_exceeded',
    });
    expect(planNext(input({ costBreaker: { ...open, policy: 'route_cheap' } }))).toMatchObject({
      kind: 'skip',
      tier: 'reasoning',
      reason: 'cost_breaker_open',
    });
    const skipped = failed('reasoning', 'cost_breaker_open', { status: 'skipped' });
    expect(planNext(input({ attempts: [skipped], costBreaker: { ...open, policy: 'route_cheap' } }))).toEqual(
      {
        kind: 'call',
        tier: 'standard',
        crashRetry: 0,
      },
    );
  });

  it('skips a model whose deadline has passed', () => {
    expect(planNext(input({ now: new Date('2026-01-01T00:09:45Z') }))).toMatchObject({
      kind: 'skip',
      tier: 'reasoning',
      reason: 'deadline',
    });
    const late = failed('reasoning', 'deadline');
    expect(planNext(input({ attempts: [late], now: new Date('2026-01-01T00:09:45Z') }))).toEqual({
      kind: 'call',
      tier: 'standard',
      crashRetry: 0,
    });
  });

  it('cancels on request, and after a cancelled call', () => {
    expect(planNext(input({ cancelRequested: true }))).toEqual({ kind: 'cancel' });
    expect(planNext(input({ attempts: [failed('reasoning', 'cancelled')] }))).toEqual({ kind: 'cancel' });
  });
});

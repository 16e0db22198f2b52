import type { AttemptRecord, AttemptResult, CallTier, FailureReason } from './execution-record';
import { type Plan, type PlanInput, planNext } from './execution-planner';

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
    responseId: null,
    serviceTier: null,
    serviceTierReason: null,
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
    onBudgetDenied: 'fail',
    maxCrashRetries: 2,
    cancelRequested: false,
    costBreaker: { open: false, policy: null, reason: null, retryAt: null },
    now,
    deadlineAt: new Date('2026-01-01T00:10:00Z'),
    reasoningDeadlineAt: new Date('2026-01-01T00:09:30Z'),
    serviceTier: NO_RULE,
    flexTiers: [],
    ...over,
  };
}

const NO_RULE = { tier: 'default' as const, reason: 'the policy maps no latency budget to a service tier' };
const call = (tier: CallTier, retry: number): Plan => ({ kind: 'call', tier, retry, serviceTier: NO_RULE });

describe('planNext', () => {
  it('calls the reasoning model first', () => {
    expect(planNext(input())).toEqual(call('reasoning', 0));
  });

  it('completes with the reasoning answer, not degraded', () => {
    const a = answered('reasoning');
    expect(planNext(input({ attempts: [a] }))).toEqual({ kind: 'complete', attempt: a, degraded: null });
  });

  it('falls back to the standard model after a limit hit, and completes degraded with that reason', () => {
    const limit = failed('reasoning', 'limit_hit', { outcome: 'limit_hit', detail: 'stopped at 100 tokens' });
    expect(planNext(input({ attempts: [limit] }))).toEqual(call('standard', 0));
    const fallback = answered('standard');
    expect(planNext(input({ attempts: [limit, fallback] }))).toEqual({
      kind: 'complete',
      attempt: fallback,
      degraded: { reason: 'limit_hit: stopped at 100 tokens' },
    });
  });

  it('escalates to a human when both models give no usable answer, the cause first', () => {
    const plan = planNext(
      input({ attempts: [failed('reasoning', 'limit_hit'), failed('standard', 'unusable_answer')] }),
    );
    expect(plan).toEqual({
      kind: 'escalate',
      cause: 'limit_hit',
      reason: 'limit_hit: limit_hit detail; also standard: unusable_answer: unusable_answer detail',
      attempts: ['reasoning:limit_hit', 'standard:unusable_answer'],
    });
  });

  it('fails when the chain has no human step', () => {
    const plan = planNext(
      input({
        fallback: ['standard'],
        attempts: [failed('reasoning', 'limit_hit'), failed('standard', 'limit_hit')],
      }),
    );
    expect(plan).toMatchObject({ kind: 'fail', code: 'reasoning_failed' });
  });

  it('retries a call cut off by a crash up to the limit, then moves down the chain', () => {
    expect(planNext(input({ attempts: [crashed('reasoning')] }))).toEqual(call('reasoning', 1));
    expect(planNext(input({ attempts: [crashed('reasoning'), crashed('reasoning')] }))).toEqual(
      call('reasoning', 2),
    );
    const plan = planNext(
      input({ attempts: [crashed('reasoning'), crashed('reasoning'), crashed('reasoning')] }),
    );
    expect(plan).toEqual(call('standard', 0));
  });

  it('never calls again once an answer is recorded, whatever follows', () => {
    const a = answered('reasoning');
    expect(planNext(input({ attempts: [crashed('reasoning'), a], cancelRequested: true }))).toMatchObject({
      kind: 'complete',
      attempt: a,
    });
  });

  it("follows the tenant's cost breaker: fail refuses, human escalates, route_cheap skips the reasoning model", () => {
    const open = { open: true, reason: 'spend_rate', retryAt: '2026-01-01T01:00:00Z', policy: null };
    expect(planNext(input({ costBreaker: open, onBudgetDenied: 'fail' }))).toMatchObject({
      kind: 'fail',
      code: 'budget_exceeded',
    });
    expect(planNext(input({ costBreaker: open, onBudgetDenied: 'human' }))).toMatchObject({
      kind: 'escalate',
      cause: 'budget_denied',
    });
    expect(planNext(input({ costBreaker: open, onBudgetDenied: 'route_cheap' }))).toMatchObject({
      kind: 'skip',
      tier: 'reasoning',
      reason: 'cost_breaker_open',
    });
    const skipped = failed('reasoning', 'cost_breaker_open', { status: 'skipped' });
    expect(
      planNext(
        input({ attempts: [skipped], costBreaker: open, onBudgetDenied: 'route_cheap', fallback: [] }),
      ),
    ).toEqual(call('standard', 0));
  });

  it('skips a model whose deadline has passed', () => {
    expect(planNext(input({ now: new Date('2026-01-01T00:09:45Z') }))).toMatchObject({
      kind: 'skip',
      tier: 'reasoning',
      reason: 'deadline',
    });
    const late = failed('reasoning', 'deadline');
    expect(planNext(input({ attempts: [late], now: new Date('2026-01-01T00:09:45Z') }))).toEqual(
      call('standard', 0),
    );
  });

  it('cancels on request, and after a cancelled call', () => {
    expect(planNext(input({ cancelRequested: true }))).toEqual({ kind: 'cancel' });
    expect(planNext(input({ attempts: [failed('reasoning', 'cancelled')] }))).toEqual({ kind: 'cancel' });
  });

  // What the attempts recorded so far lead to. Outages never end at a person; a real denial follows the policy.
  const denial = (
    reason: 'budget_exceeded' | 'task_ceiling_exceeded' | 'breaker_open' | 'ledger_unavailable' | 'no_price',
    tier: CallTier = 'reasoning',
  ) =>
    failed(tier, 'budget_denied', {
      status: 'skipped',
      outcome: 'budget_denied',
      result: result({ answer: null, denial: { reason, policy: null } }),
    });
  const unanswered = (tier: CallTier) => failed(tier, 'ledger_unavailable', { status: 'skipped' });
  const late = new Date('2026-01-01T00:10:00Z');
  const cases: [string, Partial<PlanInput>, Partial<Plan> & { kind: Plan['kind'] }][] = [
    // outages: wait, move to the next model tier, fail at the deadline; never a person
    [
      'ledger unanswered on reasoning -> standard',
      { attempts: [unanswered('reasoning')] },
      call('standard', 0),
    ],
    [
      'ledger unanswered, recorded as a denial -> standard',
      { attempts: [denial('ledger_unavailable')] },
      { kind: 'call', tier: 'standard' },
    ],
    [
      'ledger unanswered on both tiers, deadline passed -> skip',
      { attempts: [unanswered('reasoning'), unanswered('standard')], now: late },
      { kind: 'skip', tier: 'standard', reason: 'deadline' },
    ],
    [
      'ledger unanswered until the end -> fail deadline naming the ledger',
      {
        attempts: [
          unanswered('reasoning'),
          unanswered('standard'),
          failed('standard', 'deadline', { status: 'skipped' }),
        ],
      },
      {
        kind: 'fail',
        code: 'deadline_exceeded',
        message: expect.stringContaining('ledger_unavailable') as string,
      },
    ],
    [
      'ledger unanswered, no model fallback -> fail deadline',
      {
        fallback: ['human'],
        attempts: [unanswered('reasoning'), failed('reasoning', 'deadline', { status: 'skipped' })],
      },
      { kind: 'fail', code: 'deadline_exceeded' },
    ],
    [
      'model 5xx on both tiers -> standard again',
      { attempts: [failed('reasoning', 'server_error'), failed('standard', 'server_error')] },
      call('standard', 1),
    ],
    [
      'model 429 then breaker -> standard again',
      {
        attempts: [
          failed('reasoning', 'rate_limited'),
          failed('standard', 'model_breaker_open', { status: 'skipped' }),
        ],
      },
      call('standard', 1),
    ],
    [
      'model outage until the deadline -> fail deadline, not a person',
      {
        attempts: [
          failed('reasoning', 'server_error'),
          failed('standard', 'server_error'),
          failed('standard', 'deadline', { status: 'skipped' }),
        ],
      },
      { kind: 'fail', code: 'deadline_exceeded' },
    ],
    [
      'reasoning only chain, model outage -> reasoning again',
      { fallback: ['human'], attempts: [failed('reasoning', 'server_error')] },
      call('reasoning', 1),
    ],
    [
      'crashes beyond the limit on the last tier -> fail, not a person',
      {
        attempts: [
          failed('reasoning', 'limit_hit'),
          crashed('standard'),
          crashed('standard'),
          crashed('standard'),
        ],
      },
      { kind: 'fail', code: 'reasoning_failed' },
    ],
    [
      'crashes beyond the limit, no content failure -> fail',
      { fallback: ['human'], attempts: [crashed('reasoning'), crashed('reasoning'), crashed('reasoning')] },
      { kind: 'fail', code: 'reasoning_failed' },
    ],
    [
      'model error on both tiers -> fail',
      { attempts: [failed('reasoning', 'model_error'), failed('standard', 'model_error')] },
      { kind: 'fail', code: 'reasoning_failed' },
    ],
    [
      'outage then a content failure -> a person, for the content',
      { attempts: [failed('reasoning', 'server_error'), failed('standard', 'limit_hit')] },
      { kind: 'escalate', cause: 'limit_hit', reason: expect.stringMatching(/^limit_hit: /) as string },
    ],
    [
      'unusable answer on reasoning -> standard',
      { attempts: [failed('reasoning', 'unusable_answer')] },
      call('standard', 0),
    ],
    // real denials: the tenant's policy
    [
      'denied, policy fail -> budget_exceeded',
      { attempts: [denial('budget_exceeded')], onBudgetDenied: 'fail' },
      { kind: 'fail', code: 'budget_exceeded' },
    ],
    [
      'task ceiling, policy fail -> budget_exceeded',
      { attempts: [denial('task_ceiling_exceeded')], onBudgetDenied: 'fail' },
      { kind: 'fail', code: 'budget_exceeded' },
    ],
    [
      'ledger breaker, policy fail -> budget_exceeded',
      { attempts: [denial('breaker_open')], onBudgetDenied: 'fail' },
      { kind: 'fail', code: 'budget_exceeded' },
    ],
    [
      'denied, policy human -> a person, budget_denied',
      { attempts: [denial('budget_exceeded')], onBudgetDenied: 'human' },
      {
        kind: 'escalate',
        cause: 'budget_denied',
        reason: expect.stringMatching(/^budget_denied: /) as string,
      },
    ],
    [
      'denied, policy human, chain without a person -> still a person',
      { attempts: [denial('budget_exceeded')], onBudgetDenied: 'human', fallback: [] },
      { kind: 'escalate', cause: 'budget_denied' },
    ],
    [
      'denied, policy route_cheap -> standard',
      { attempts: [denial('budget_exceeded')], onBudgetDenied: 'route_cheap' },
      call('standard', 0),
    ],
    [
      'denied, route_cheap, chain without standard -> standard all the same',
      { attempts: [denial('budget_exceeded')], onBudgetDenied: 'route_cheap', fallback: ['human'] },
      { kind: 'call', tier: 'standard' },
    ],
    [
      'denied on both tiers, route_cheap -> budget_exceeded',
      {
        attempts: [denial('budget_exceeded'), denial('budget_exceeded', 'standard')],
        onBudgetDenied: 'route_cheap',
      },
      { kind: 'fail', code: 'budget_exceeded' },
    ],
    [
      'route_cheap, standard gives no answer -> a person if the chain has one',
      {
        attempts: [denial('budget_exceeded'), failed('standard', 'limit_hit')],
        onBudgetDenied: 'route_cheap',
      },
      { kind: 'escalate', cause: 'limit_hit' },
    ],
    [
      'no price for the model -> fail, not a person',
      { attempts: [denial('no_price')], onBudgetDenied: 'human' },
      { kind: 'fail', code: 'reasoning_failed' },
    ],
  ];
  it.each(cases)('%s', (_name, over, expected) => {
    expect(planNext(input(over))).toMatchObject(expected);
  });
});

describe('planNext with service tiers', () => {
  const FLEX = {
    tier: 'flex' as const,
    reason: "latency budget 900 s reaches the policy's 600 s rule: flex",
  };
  const flexInput = (over: Partial<PlanInput> = {}) =>
    input({ serviceTier: FLEX, flexTiers: ['reasoning', 'standard'], ...over });
  const refused = (tier: CallTier) =>
    failed(tier, 'flex_unavailable', { detail: 'the provider refused the flex service tier (HTTP 429)' });

  it('asks for flex when the policy gives the budget flex and the tier offers it', () => {
    expect(planNext(flexInput())).toEqual({ kind: 'call', tier: 'reasoning', retry: 0, serviceTier: FLEX });
  });

  it('asks for the default tier on a model tier without flex, saying why', () => {
    const plan = planNext(flexInput({ flexTiers: ['standard'] }));
    expect(plan).toEqual({
      kind: 'call',
      tier: 'reasoning',
      retry: 0,
      serviceTier: {
        tier: 'default',
        reason: `${FLEX.reason}; but the reasoning model is called through chat completions, which has no flex: default`,
      },
    });
  });

  it('calls the same step again at once at the default tier after a flex refusal, and for the rest of the task', () => {
    const first = refused('reasoning');
    const again = planNext(flexInput({ attempts: [first] }));
    expect(again).toEqual({
      kind: 'call',
      tier: 'reasoning',
      retry: 0,
      serviceTier: {
        tier: 'default',
        reason: `${FLEX.reason}; but attempt ${first.attempt} was refused flex (the provider refused the flex service tier (HTTP 429)): default`,
      },
    });
    // The standard fallback after a limit hit stays at the default tier too.
    const next = planNext(flexInput({ attempts: [first, failed('reasoning', 'limit_hit')] }));
    expect(next).toMatchObject({
      kind: 'call',
      tier: 'standard',
      retry: 0,
      serviceTier: { tier: 'default' },
    });
  });

  it('does not count a flex refusal as the failure behind a fallback or an escalation', () => {
    const answer = answered('reasoning');
    expect(planNext(flexInput({ attempts: [refused('reasoning'), answer] }))).toEqual({
      kind: 'complete',
      attempt: answer,
      degraded: null,
    });
    const plan = planNext(
      flexInput({
        attempts: [
          refused('reasoning'),
          failed('reasoning', 'limit_hit'),
          failed('standard', 'unusable_answer'),
        ],
      }),
    );
    expect(plan).toMatchObject({ kind: 'escalate', cause: 'limit_hit' });
    expect((plan as { reason: string }).reason).not.toContain('flex');
  });

  it('still stops at the deadline after a flex refusal', () => {
    const plan = planNext(
      flexInput({ attempts: [refused('reasoning')], now: new Date('2026-01-01T00:09:40Z') }),
    );
    expect(plan).toMatchObject({ kind: 'skip', tier: 'reasoning', reason: 'deadline' });
  });
});

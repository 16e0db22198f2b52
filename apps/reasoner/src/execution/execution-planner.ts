import type { BudgetDeniedAction, FallbackStep } from '@deliberate/contracts';
import type { AttemptRecord, CallTier, FailureReason } from './execution-record';
import { callServiceTier, type FlexRefusal, type ServiceTierChoice } from './service-tier-choice';

// Decides an execution's next step from what its attempts recorded, and nothing else: a fresh execution and one
// recovered after a crash go through the same decision, so a recorded result is never asked for twice.
//
// What a failure leads to depends on its kind. Content (the model hit its limit or gave no usable answer) goes down
// the tenant's chain, a person included. An outage (model or ledger not answering) moves to the next model tier, or
// waits and tries the last one again, until the deadline; it never reaches a person. A real budget denial does what
// the tenant's policy says. A flex refusal (no capacity, not billed) calls the same step again at the default tier.

export interface CostBreakerView {
  open: boolean;
  policy: BudgetDeniedAction | null;
  reason: string | null;
  retryAt: string | null;
}

export interface PlanInput {
  attempts: readonly AttemptRecord[];
  fallback: readonly FallbackStep[];
  onBudgetDenied: BudgetDeniedAction;
  maxCrashRetries: number;
  cancelRequested: boolean;
  costBreaker: CostBreakerView;
  now: Date;
  deadlineAt: Date;
  reasoningDeadlineAt: Date;
  /** The service tier the tenant's policy gives the task's latency budget. */
  serviceTier: ServiceTierChoice;
  /** The model tiers whose API offers flex (the Responses API). */
  flexTiers: readonly CallTier[];
}

export interface StageFailure {
  tier: CallTier;
  reason: FailureReason;
  detail: string;
}

/** Why a person got the task: what the models answered, or the tenant's policy for a budget denial. */
export type EscalationCause = 'limit_hit' | 'unusable_answer' | 'budget_denied';

export type Plan =
  // retry > 0: the same tier again after a call cut off by a crash or an outage; the runner spaces it out.
  | { kind: 'call'; tier: CallTier; retry: number; serviceTier: ServiceTierChoice }
  | { kind: 'skip'; tier: CallTier; reason: FailureReason; detail: string }
  | { kind: 'complete'; attempt: AttemptRecord; degraded: { reason: string } | null }
  | { kind: 'fail'; code: string; message: string }
  | { kind: 'escalate'; cause: EscalationCause; reason: string; attempts: string[] }
  | { kind: 'cancel' };

type Stage = CallTier | 'human';

/** How a recorded failure moves the chain. */
type FailureKind =
  'content' | 'outage' | 'next_model' | 'denied' | 'route_cheap' | 'refused' | 'flex_refused';

const REAL_DENIALS = new Set(['budget_exceeded', 'task_ceiling_exceeded', 'breaker_open']);

function kindOf(a: AttemptRecord, reason: FailureReason): FailureKind {
  switch (reason) {
    case 'limit_hit':
    case 'unusable_answer':
      return 'content';
    case 'server_error':
    case 'rate_limited':
    case 'model_breaker_open':
    case 'ledger_unavailable':
      return 'outage';
    case 'cost_breaker_open':
      return 'route_cheap';
    case 'budget_denied': {
      const denial = a.result?.denial?.reason;
      // Recorded before outages were told apart: an unanswered reserve is an outage, not a denial.
      if (denial === 'ledger_unavailable') return 'outage';
      return denial !== undefined && REAL_DENIALS.has(denial) ? 'denied' : 'refused';
    }
    case 'deadline':
    case 'model_error':
    case 'executor_crashed':
    case 'cancelled':
      return 'next_model';
    case 'flex_unavailable':
      return 'flex_refused';
  }
}

const describe = (f: StageFailure) => `${f.reason}: ${f.detail}`;
const isContent = (f: StageFailure) => f.reason === 'limit_hit' || f.reason === 'unusable_answer';
const isModel = (s: Stage | undefined): s is CallTier => s === 'reasoning' || s === 'standard';

function escalate(cause: EscalationCause, root: string, failures: StageFailure[], tried: string[]): Plan {
  const others = failures.filter((f) => f.reason !== cause).map((f) => `${f.tier}: ${describe(f)}`);
  return {
    kind: 'escalate',
    cause,
    reason: [`${cause}: ${root}`, ...others.map((o) => `also ${o}`)].join('; '),
    attempts: tried,
  };
}

export function planNext(input: PlanInput): Plan {
  let stages: Stage[] = ['reasoning', ...input.fallback];
  const failures: StageFailure[] = [];
  const tried = input.attempts.map((a) => `${a.tier}:${a.reason ?? 'answered'}`);
  let stage = 0;
  let crashesInStage = 0;
  let outagesInStage = 0;
  let flexRefused: FlexRefusal | null = null;

  const nextModelStage = () => {
    const i = stages.findIndex((s, j) => j > stage && isModel(s));
    return i === -1 ? stages.length : i;
  };
  const advanceTo = (i: number) => {
    stage = i;
    crashesInStage = 0;
    outagesInStage = 0;
  };
  // The cheap tier, whether or not the chain names it; a person after it only if the chain has one.
  const routeCheap = () => {
    stages = ['reasoning', 'standard', ...input.fallback.filter((s) => s === 'human')];
    advanceTo(1);
  };
  const budgetExceeded = (message: string): Plan => ({ kind: 'fail', code: 'budget_exceeded', message });

  for (const a of input.attempts) {
    if (a.status === 'finished' && a.reason === null && a.result?.answer) {
      return {
        kind: 'complete',
        attempt: a,
        degraded:
          a.tier === 'reasoning' ? null : { reason: failures[0] ? describe(failures[0]) : 'fallback' },
      };
    }
    if (a.reason === 'cancelled') return { kind: 'cancel' };
    if (a.status === 'crashed' || a.status === 'started') {
      crashesInStage += 1;
      if (crashesInStage <= input.maxCrashRetries) continue;
      failures.push({
        tier: a.tier,
        reason: 'executor_crashed',
        detail: `the executor stopped during ${crashesInStage} calls in a row`,
      });
      advanceTo(nextModelStage());
      continue;
    }
    const failure: StageFailure = {
      tier: a.tier,
      reason: a.reason ?? 'unusable_answer',
      detail: a.detail ?? 'no answer',
    };
    // Not a failure of the step: the same step is called again at once, at the default tier.
    if (failure.reason === 'flex_unavailable') {
      flexRefused ??= { attempt: a.attempt, detail: failure.detail };
      continue;
    }
    failures.push(failure);
    switch (kindOf(a, failure.reason)) {
      case 'content':
        advanceTo(stage + 1);
        break;
      case 'next_model':
        advanceTo(nextModelStage());
        break;
      case 'outage': {
        // Another model tier may answer; the last one is tried again until its deadline.
        const next = nextModelStage();
        if (next < stages.length) advanceTo(next);
        else outagesInStage += 1;
        break;
      }
      case 'flex_refused':
        break;
      case 'refused':
        return { kind: 'fail', code: 'reasoning_failed', message: describe(failure) };
      case 'route_cheap':
        if (a.tier === 'standard') return budgetExceeded(failure.detail);
        routeCheap();
        break;
      case 'denied':
        switch (input.onBudgetDenied) {
          case 'fail':
            return budgetExceeded(failure.detail);
          case 'human':
            return escalate('budget_denied', failure.detail, failures, tried);
          case 'route_cheap':
            if (a.tier === 'standard') return budgetExceeded(failure.detail);
            routeCheap();
            break;
        }
        break;
    }
  }

  if (input.cancelRequested) return { kind: 'cancel' };

  const next = stages[stage];
  if (!isModel(next)) {
    const content = failures.find(isContent);
    if (next === 'human' && content) {
      return escalate(content.reason as EscalationCause, content.detail, failures, tried);
    }
    const late = failures.some((f) => f.reason === 'deadline' || f.reason === 'ledger_unavailable');
    const listed = failures.map((f) => `${f.tier}: ${describe(f)}`).join('; ');
    return late
      ? {
          kind: 'fail',
          code: 'deadline_exceeded',
          message: `no model answered before the deadline: ${listed}`,
        }
      : { kind: 'fail', code: 'reasoning_failed', message: `no model answered: ${listed}` };
  }

  const breaker = input.costBreaker;
  if (breaker.open) {
    const why = `the tenant's cost circuit breaker is open (${breaker.reason ?? 'budget'})`;
    switch (input.onBudgetDenied) {
      case 'fail':
        return budgetExceeded(`${why}; retry after ${breaker.retryAt ?? 'it closes'}`);
      case 'human':
        return escalate('budget_denied', why, failures, tried);
      case 'route_cheap':
        if (next === 'reasoning') {
          return {
            kind: 'skip',
            tier: 'reasoning',
            reason: 'cost_breaker_open',
            detail: `${why} and its policy routes work to the cheaper model`,
          };
        }
    }
  }

  const deadline = next === 'reasoning' ? input.reasoningDeadlineAt : input.deadlineAt;
  if (input.now.getTime() >= deadline.getTime()) {
    return {
      kind: 'skip',
      tier: next,
      reason: 'deadline',
      detail: `no time left for the ${next} model before ${deadline.toISOString()}`,
    };
  }
  return {
    kind: 'call',
    tier: next,
    retry: crashesInStage + outagesInStage,
    serviceTier: callServiceTier(input.serviceTier, {
      tier: next,
      offersFlex: input.flexTiers.includes(next),
      refused: flexRefused,
    }),
  };
}

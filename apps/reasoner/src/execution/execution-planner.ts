import type { BudgetDeniedAction } from '@deliberate/contracts';
import type { AttemptRecord, CallTier, FailureReason } from './execution-record';
import type { FallbackStep } from './tenant-policy';

// Decides an execution's next step from what its attempts recorded, and nothing else: a fresh execution and one
// recovered after a crash go through the same decision, so a recorded result is never asked for twice.

export interface CostBreakerView {
  open: boolean;
  policy: BudgetDeniedAction | null;
  reason: string | null;
  retryAt: string | null;
}

export interface PlanInput {
  attempts: readonly AttemptRecord[];
  fallback: readonly FallbackStep[];
  onBudgetDenied: 'fallback' | 'fail';
  maxCrashRetries: number;
  cancelRequested: boolean;
  costBreaker: CostBreakerView;
  now: Date;
  deadlineAt: Date;
  reasoningDeadlineAt: Date;
}

export interface StageFailure {
  tier: CallTier;
  reason: FailureReason;
  detail: string;
}

export type Plan =
  | { kind: 'call'; tier: CallTier; crashRetry: number }
  | { kind: 'skip'; tier: CallTier; reason: FailureReason; detail: string }
  | { kind: 'complete'; attempt: AttemptRecord; degraded: { reason: string } | null }
  | { kind: 'fail'; code: string; message: string }
  | { kind: 'escalate'; reason: string; attempts: string[] }
  | { kind: 'cancel' };

type Stage = CallTier | 'human';

const describe = (f: StageFailure) => `${f.reason}: ${f.detail}`;

export function planNext(input: PlanInput): Plan {
  const stages: Stage[] = ['reasoning', ...input.fallback];
  const failures: StageFailure[] = [];
  let stage = 0;
  let crashesInStage = 0;

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
    } else {
      const failure: StageFailure = {
        tier: a.tier,
        reason: a.reason ?? 'limit_hit',
        detail: a.detail ?? 'no answer',
      };
      failures.push(failure);
      const denial = a.result?.denial;
      if (failure.reason === 'budget_denied' && denial) {
        const overBudget = denial.reason === 'budget_exceeded' || denial.reason === 'task_ceiling_exceeded';
        const breakerFails = denial.reason === 'breaker_open' && denial.policy !== 'route_cheap';
        if ((overBudget && input.onBudgetDenied === 'fail') || breakerFails) {
          return { kind: 'fail', code: 'budget_exceeded', message: failure.detail };
        }
      }
    }
    stage += 1;
    crashesInStage = 0;
  }

  if (input.cancelRequested) return { kind: 'cancel' };

  const next = stages[stage];
  const tried = input.attempts.map((a) => `${a.tier}:${a.reason ?? 'answered'}`);
  if (next === undefined) {
    return {
      kind: 'fail',
      code: 'reasoning_failed',
      message: `no model answered and the fallback chain has no human step: ${failures.map(describe).join('; ')}`,
    };
  }
  if (next === 'human') {
    const root = failures[0];
    const reason = root
      ? [describe(root), ...failures.slice(1).map((f) => `then ${f.tier}: ${describe(f)}`)].join('; ')
      : 'the fallback chain starts with a human';
    return { kind: 'escalate', reason, attempts: tried };
  }

  const breaker = input.costBreaker;
  if (breaker.open) {
    if (breaker.policy !== 'route_cheap') {
      return {
        kind: 'fail',
        code: 'budget_exceeded',
        message: `the tenant's cost circuit breaker is open (${breaker.reason ?? 'budget'}); retry after ${breaker.retryAt ?? 'it closes'}`,
      };
    }
    if (next === 'reasoning') {
      return {
        kind: 'skip',
        tier: 'reasoning',
        reason: 'cost_breaker_open',
        detail: `the tenant's cost circuit breaker is open (${breaker.reason ?? 'budget'}) and its policy routes work to the cheaper model`,
      };
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
  return { kind: 'call', tier: next, crashRetry: crashesInStage };
}

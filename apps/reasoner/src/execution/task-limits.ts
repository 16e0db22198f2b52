import type { ReasoningEffort, TaskSpec, TenantPolicy } from '@deliberate/contracts';
import { type ServiceTierChoice, serviceTierFor } from './service-tier-choice';

export interface LimitDefaults {
  defaultMaxThinkingTokens: number;
  /** The ceiling of a tenant whose policy sets none. */
  maxThinkingTokensCeiling: number;
  standardMaxCompletionTokens: number;
  defaultDeadlineMs: number;
  fallbackReserveMs: number;
}

export interface TaskLimits {
  /** max_completion_tokens of the reasoning call: thinking plus answer. */
  maxCompletionTokens: number;
  reasoningEffort: ReasoningEffort;
  standardMaxCompletionTokens: number;
  /** The task's wall-clock deadline: nothing is called after it. */
  deadlineAt: Date;
  /** The reasoning call's own deadline: earlier, so a fallback still has time to answer. */
  reasoningDeadlineAt: Date;
  /** The task's cost ceiling, on top of the tenant's per-task ceiling in the ledger. */
  taskCeilingMicroUsd: number | null;
  /** The service tier the tenant's policy gives the task's latency budget. */
  serviceTier: ServiceTierChoice;
}

export function deadlineFor(spec: TaskSpec, acceptedAt: Date, defaultDeadlineMs: number): Date {
  return new Date(acceptedAt.getTime() + (spec.latencyBudgetMs ?? defaultDeadlineMs));
}

// The task asks, the tenant's ceiling caps: a task can lower its limits freely, never raise them past the tenant's.
export function taskLimits(
  spec: Pick<TaskSpec, 'maxThinkingTokens' | 'reasoningEffort' | 'maxCostMicroUsd'>,
  timing: { createdAt: Date; deadlineAt: Date },
  policy: TenantPolicy,
  defaults: LimitDefaults,
): TaskLimits {
  const budgetMs = timing.deadlineAt.getTime() - timing.createdAt.getTime();
  const hasModelFallback = policy.fallback.includes('standard');
  // A quarter of the budget at most, so a short budget still leaves the reasoning model most of it.
  const reserveMs = hasModelFallback ? Math.min(defaults.fallbackReserveMs, Math.floor(budgetMs / 4)) : 0;
  return {
    maxCompletionTokens: Math.min(
      spec.maxThinkingTokens ?? defaults.defaultMaxThinkingTokens,
      policy.maxThinkingTokensCeiling ?? defaults.maxThinkingTokensCeiling,
    ),
    reasoningEffort: spec.reasoningEffort ?? policy.defaultReasoningEffort,
    standardMaxCompletionTokens: defaults.standardMaxCompletionTokens,
    deadlineAt: timing.deadlineAt,
    reasoningDeadlineAt: new Date(timing.deadlineAt.getTime() - reserveMs),
    taskCeilingMicroUsd: spec.maxCostMicroUsd,
    serviceTier: serviceTierFor(budgetMs, policy.serviceTiers),
  };
}

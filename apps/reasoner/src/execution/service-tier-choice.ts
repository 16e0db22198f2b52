import type { ServiceTier, ServiceTierRule } from '@deliberate/contracts';

// Which service tier a task's calls ask the provider for. The tenant's policy maps latency budgets to tiers: work that
// can wait (say ten minutes or more) goes at flex prices. Flex exists on the Responses API only, and a provider with
// no flex capacity refuses the call (429, not billed): from then on the task's calls go at the default tier.

export interface ServiceTierChoice {
  tier: ServiceTier;
  /** Why, in words for the task's timeline. */
  reason: string;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** The tier the tenant's rules give a task with this latency budget: the highest threshold the budget reaches. */
export function serviceTierFor(budgetMs: number, rules: readonly ServiceTierRule[]): ServiceTierChoice {
  let chosen: ServiceTierRule | null = null;
  for (const rule of rules)
    if (
      rule.minLatencyBudgetMs <= budgetMs &&
      (!chosen || rule.minLatencyBudgetMs > chosen.minLatencyBudgetMs)
    )
      chosen = rule;
  if (chosen)
    return {
      tier: chosen.tier,
      reason: `latency budget ${seconds(budgetMs)} reaches the policy's ${seconds(chosen.minLatencyBudgetMs)} rule: ${chosen.tier}`,
    };
  if (rules.length === 0)
    return { tier: 'default', reason: 'the policy maps no latency budget to a service tier' };
  const lowest = Math.min(...rules.map((r) => r.minLatencyBudgetMs));
  return {
    tier: 'default',
    reason: `latency budget ${seconds(budgetMs)} is below the policy's lowest service-tier rule (${seconds(lowest)})`,
  };
}

/** What refused flex earlier in the execution, if anything. */
export interface FlexRefusal {
  attempt: number;
  detail: string;
}

/** The tier one call asks for: the task's, unless its model tier cannot offer flex or flex was refused already. */
export function callServiceTier(
  task: ServiceTierChoice,
  call: { tier: string; offersFlex: boolean; refused: FlexRefusal | null },
): ServiceTierChoice {
  if (task.tier !== 'flex') return task;
  if (!call.offersFlex)
    return {
      tier: 'default',
      reason: `${task.reason}; but the ${call.tier} model is called through chat completions, which has no flex: default`,
    };
  if (call.refused)
    return {
      tier: 'default',
      reason: `${task.reason}; but attempt ${call.refused.attempt} was refused flex (${call.refused.detail}): default`,
    };
  return task;
}

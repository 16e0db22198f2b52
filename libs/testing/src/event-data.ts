// The data of events as the services receive them, for suites that publish to a service under test.

import type { BudgetBreakerOpened, TaskSpec } from '@deliberate/contracts';

/** A normalized task as the services receive it: `input` in mode 'auto' with every option unset, unless given. */
export function testTaskSpec(input: string, over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    input,
    context: [],
    mode: 'auto',
    latencyBudgetMs: null,
    maxCostMicroUsd: null,
    maxThinkingTokens: null,
    reasoningEffort: null,
    webhookUrl: null,
    project: null,
    apiKeyId: null,
    metadata: {},
    ...over,
  };
}

/** A breaker the ledger opened an hour before it retries, for the consumers of its events to act on. */
export function openedBreaker(policy: BudgetBreakerOpened['policy']): BudgetBreakerOpened {
  return {
    reason: 'spend_rate',
    message: 'test: spend rate over its window',
    policy,
    windowSeconds: 60,
    windowSpendMicroUsd: 5_000_000,
    openedAt: new Date().toISOString(),
    retryAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
}

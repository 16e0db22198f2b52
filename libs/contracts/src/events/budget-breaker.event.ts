import { z } from 'zod';
import { breakerPolicySchema } from '../ledger/ledger-http.dto';
import { defineEvent } from './event-definition';

export const budgetBreakerOpenedEvent = defineEvent({
  topic: 'budget.breaker.opened.v1',
  summary:
    "A tenant's cost circuit breaker opened (spend rate over its window, the budget is gone, or a call cost more than its hold): paid work is refused until it closes.",
  schema: z.strictObject({
    reason: z.enum(['spend_rate', 'budget_exhausted', 'exceeded_hold']),
    message: z.string(),
    policy: breakerPolicySchema,
    windowSeconds: z.int().positive(),
    windowSpendMicroUsd: z.int().nonnegative(),
    openedAt: z.iso.datetime(),
    retryAt: z.iso.datetime(),
  }),
  partitions: 3,
  key: 'tenantId',
  producers: ['ledger'],
  consumers: ['triage', 'reasoner', 'audit'],
});
export type BudgetBreakerOpened = z.infer<typeof budgetBreakerOpenedEvent.schema>;

export const budgetBreakerClosedEvent = defineEvent({
  topic: 'budget.breaker.closed.v1',
  summary:
    "A tenant's cost circuit breaker closed after its cool-down and a passing check: paid work resumes.",
  schema: z.strictObject({ closedAt: z.iso.datetime(), message: z.string() }),
  partitions: 3,
  key: 'tenantId',
  producers: ['ledger'],
  consumers: ['triage', 'reasoner', 'audit'],
});
export type BudgetBreakerClosed = z.infer<typeof budgetBreakerClosedEvent.schema>;

import { z } from 'zod';
import { budgetScopeSchema } from '../ledger/ledger-http.dto';
import { defineEvent } from './event-definition';

export const budgetThresholdCrossedEvent = defineEvent({
  topic: 'budget.threshold.crossed.v1',
  summary:
    'Spend plus holds of a budget period passed a soft threshold (e.g. 80 %); published once per threshold and period.',
  schema: z.strictObject({
    scope: budgetScopeSchema,
    scopeId: z.string(),
    period: z.enum(['day', 'month']),
    periodStart: z.iso.date(),
    thresholdPercent: z.int().min(1).max(100),
    limitMicroUsd: z.int().positive(),
    usedMicroUsd: z.int().nonnegative(),
  }),
  partitions: 3,
  key: 'tenantId',
  producers: ['ledger'],
  consumers: ['audit', 'downstream systems'],
});
export type BudgetThresholdCrossed = z.infer<typeof budgetThresholdCrossedEvent.schema>;

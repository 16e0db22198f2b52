import { z } from 'zod';

export const budgetScopeSchema = z.enum(['tenant', 'api_key', 'project']);
export type BudgetScope = z.infer<typeof budgetScopeSchema>;

export const breakerPolicySchema = z.enum(['fail', 'route_cheap']);
export type BreakerPolicy = z.infer<typeof breakerPolicySchema>;

const usd = z.number().positive().max(100_000_000);

/** PUT /v1/ledger/budgets: limits in USD at the edge, micro-USD inside. */
export const putBudgetRequestSchema = z.strictObject({
  scope: budgetScopeSchema.default('tenant'),
  /** The API key id or project tag; omitted for the tenant scope. */
  scopeId: z.string().min(1).max(200).optional(),
  dailyLimitUsd: usd.nullable().optional(),
  monthlyLimitUsd: usd.nullable().optional(),
  perTaskLimitUsd: usd.nullable().optional(),
  softThresholdPercents: z.array(z.int().min(1).max(99)).max(5).optional(),
  overBudgetPolicy: breakerPolicySchema.optional(),
  breakerWindowSeconds: z.int().min(1).max(86_400).optional(),
  breakerMaxSpendUsd: usd.nullable().optional(),
});
export type PutBudgetRequest = z.input<typeof putBudgetRequestSchema>;

export const budgetResponseSchema = z.object({
  tenantId: z.string(),
  scope: budgetScopeSchema,
  scopeId: z.string(),
  dailyLimitMicroUsd: z.int().nullable(),
  monthlyLimitMicroUsd: z.int().nullable(),
  perTaskLimitMicroUsd: z.int().nullable(),
  softThresholdPercents: z.array(z.int()),
  overBudgetPolicy: breakerPolicySchema,
  breakerWindowSeconds: z.int(),
  breakerMaxSpendMicroUsd: z.int().nullable(),
  spentTodayMicroUsd: z.int(),
  reservedTodayMicroUsd: z.int(),
  spentThisMonthMicroUsd: z.int(),
  reservedThisMonthMicroUsd: z.int(),
  breaker: z.enum(['closed', 'open', 'half_open']),
});
export type BudgetResponse = z.infer<typeof budgetResponseSchema>;

export const spendGroupSchema = z.enum(['model', 'day', 'route', 'tenant']);
export const spendRowSchema = z.object({
  key: z.string(),
  costMicroUsd: z.int(),
  calls: z.int(),
  inputTokens: z.int(),
  cachedInputTokens: z.int(),
  outputTokens: z.int(),
  reasoningTokens: z.int(),
});
export const spendResponseSchema = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  groupBy: spendGroupSchema,
  rows: z.array(spendRowSchema),
  total: spendRowSchema,
});
export type SpendResponse = z.infer<typeof spendResponseSchema>;

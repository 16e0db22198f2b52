import { z } from 'zod';
import { tenantIdSchema } from '../http/admin.dto';
import { type BudgetDeniedAction, budgetDeniedActionSchema } from '../policy/tenant-policy.schema';

export const budgetScopeSchema = z.enum(['tenant', 'api_key', 'project']);
export type BudgetScope = z.infer<typeof budgetScopeSchema>;

/** What an open cost breaker asks callers to do: the tenant policy's `onBudgetDenied`. */
export const breakerPolicySchema = budgetDeniedActionSchema;
export type BreakerPolicy = BudgetDeniedAction;

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
  // What a denial does is the tenant's policy now, one for every budget: a body still naming it is told where it went.
  overBudgetPolicy: z
    .never({
      error: 'is no longer part of a budget: set onBudgetDenied in the tenant policy (PUT /v1/policy)',
    })
    .optional()
    .meta({ description: 'refused: set onBudgetDenied with PUT /v1/policy' }),
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
  breakerWindowSeconds: z.int(),
  breakerMaxSpendMicroUsd: z.int().nullable(),
  spentTodayMicroUsd: z.int(),
  reservedTodayMicroUsd: z.int(),
  spentThisMonthMicroUsd: z.int(),
  reservedThisMonthMicroUsd: z.int(),
  breaker: z.enum(['closed', 'open', 'half_open']),
});
export type BudgetResponse = z.infer<typeof budgetResponseSchema>;

// `call`: one row per model call, keyed by its callId (the model-call event's); only within one task (taskId).
export const spendGroupSchema = z.enum(['model', 'day', 'route', 'tenant', 'call']);
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

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A query bound: a UTC date (its midnight) or a date-time with an offset. */
export const queryInstantSchema = z.string().transform((value, ctx) => {
  const ms = DATE_ONLY.test(value)
    ? Date.parse(`${value}T00:00:00Z`)
    : DATE_TIME.test(value)
      ? Date.parse(value)
      : NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `'${value}' is not an ISO 8601 date (2025-01-31) or date-time with offset (2025-01-31T08:00:00Z)`,
    });
    return z.NEVER;
  }
  return new Date(ms);
});

/** GET /v1/ledger/spend and /spend.csv: from defaults to the start of the current UTC month, to to now. */
export const spendQuerySchema = z
  .strictObject({
    from: queryInstantSchema
      .optional()
      .meta({ description: 'a UTC date or a date-time with offset; default: start of the UTC month' }),
    to: queryInstantSchema
      .optional()
      .meta({ description: 'a UTC date or a date-time with offset; default: now' }),
    groupBy: spendGroupSchema.default('model').meta({
      description: 'model, day, route (tier/purpose), tenant, or call (one row per model call; needs taskId)',
    }),
    tenantId: tenantIdSchema.optional().meta({ description: 'platform admin only' }),
    taskId: z
      .uuid()
      .optional()
      .meta({ description: "only this task's model calls (what one task cost); the period still applies" }),
  })
  .transform((q) => {
    const now = new Date();
    return {
      from: q.from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
      to: q.to ?? now,
      groupBy: q.groupBy,
      tenantId: q.tenantId,
      taskId: q.taskId,
    };
  })
  .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['from'] })
  // A row per call over a whole period is a list of every call, not a report: it is for one task.
  .refine((q) => q.groupBy !== 'call' || q.taskId !== undefined, {
    message: 'groupBy=call needs a taskId: one row per model call is reported for one task only',
    path: ['groupBy'],
  });
export type SpendQuery = z.output<typeof spendQuerySchema>;

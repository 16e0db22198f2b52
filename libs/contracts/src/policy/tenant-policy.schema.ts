import { z } from 'zod';
import { serviceTierSchema } from '../task/service-tier.schema';
import { reasoningEffortSchema, TASK_LIMITS } from '../task/task-spec.schema';

// One policy per tenant, managed through the API (GET/PUT /v1/policy) and read by the triage, the reasoner and
// the ledger from tenants.policy.updated.v1. Every field has a default, so a tenant that never set one has the
// default policy, and a PUT may name only what it changes.

/** What follows the reasoning model when it gives no answer. */
export const fallbackStepSchema = z.enum(['standard', 'human']);
export type FallbackStep = z.infer<typeof fallbackStepSchema>;

/** What a budget denial (or an open cost breaker) does to a task: fail it, run the cheap tier only, or ask a person. */
export const budgetDeniedActionSchema = z.enum(['fail', 'route_cheap', 'human']);
export type BudgetDeniedAction = z.infer<typeof budgetDeniedActionSchema>;

export const DEFAULT_FALLBACK: readonly FallbackStep[] = ['standard', 'human'];

export const fallbackChainSchema = z
  .array(fallbackStepSchema)
  .max(2)
  .refine((steps) => new Set(steps).size === steps.length, 'each step at most once')
  .refine(
    (steps) => !steps.includes('human') || steps[steps.length - 1] === 'human',
    "'human' ends the chain",
  );

/** From this latency budget up, calls ask for this service tier (where the model tier's API offers it). */
export const serviceTierRuleSchema = z.strictObject({
  minLatencyBudgetMs: z.int().min(0).max(TASK_LIMITS.maxLatencyBudgetMs),
  tier: serviceTierSchema,
});
export type ServiceTierRule = z.infer<typeof serviceTierRuleSchema>;

export const serviceTierRulesSchema = z
  .array(serviceTierRuleSchema)
  .max(8)
  .refine(
    (rules) => new Set(rules.map((r) => r.minLatencyBudgetMs)).size === rules.length,
    'each minLatencyBudgetMs at most once',
  );

/** A model name as providers spell them (`o4-mini`, `gpt-4.1`, `ft:gpt-4o:org::id`): no spaces, no control bytes. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/**
 * Shadow evaluation: a share of the reasoner's completed tasks is also sent to a candidate model, off the critical
 * path. Its answer is never acted on nor delivered; it is compared with the live one (cost, latency, tokens,
 * agreement) for the shadow report. Shadow calls are held and booked under their own daily budget, apart from the
 * tenant's budgets, so live tasks never feel them.
 */
const modelName = () =>
  z.string().min(1).max(200).regex(MODEL_NAME, 'must be a model name: letters, digits and . _ : / -');

export const shadowRouteSchema = z.strictObject({
  /** The candidate model, called through the reasoning tier's provider (its base URL, key and API). */
  model: modelName(),
  /** The service tier the shadow calls ask for (flex: batch prices; a refusal skips the comparison). */
  serviceTier: serviceTierSchema.default('default'),
  /** The share of completed tasks compared, above 0 and at most 1; the choice is a hash of the task id. */
  sampleRate: z.number().gt(0).max(1),
  /** What shadow calls may spend per UTC day, in USD; past it they are refused, live tasks unaffected. */
  dailyBudgetUsd: z.number().min(0.000001).max(1_000_000),
  /**
   * A model that judges two answers that are not equal once normalised (free-form answers say one thing in many
   * ways), called through the standard tier's provider; its calls are held and booked under the shadow budget. None:
   * normalised exact match alone.
   */
  judgeModel: modelName().nullable().default(null),
});
export type ShadowRoute = z.infer<typeof shadowRouteSchema>;

export const tenantPolicySchema = z.strictObject({
  fallback: fallbackChainSchema.default([...DEFAULT_FALLBACK]),
  onBudgetDenied: budgetDeniedActionSchema.default('fail'),
  /** How far a task may raise its thinking-token cap; null keeps the reasoner's configured ceiling. */
  maxThinkingTokensCeiling: z.int().min(16).max(TASK_LIMITS.maxThinkingTokens).nullable().default(null),
  /** The reasoning effort of a task that names none. */
  defaultReasoningEffort: reasoningEffortSchema.default('medium'),
  /** Below this latency budget a task goes to the fast tier only. */
  reasoningMinLatencyBudgetMs: z
    .int()
    .min(TASK_LIMITS.reasoningMinLatencyBudgetMs)
    .max(TASK_LIMITS.maxLatencyBudgetMs)
    .default(TASK_LIMITS.reasoningMinLatencyBudgetMs),
  /**
   * Service tiers by latency budget: a task's calls ask for the tier of the rule with the highest minLatencyBudgetMs
   * its budget reaches (none: the default tier). E.g. `[{ "minLatencyBudgetMs": 600000, "tier": "flex" }]` sends
   * work that can wait ten minutes or more at flex prices; a flex refusal falls back to the default tier.
   */
  serviceTiers: serviceTierRulesSchema.default([]),
  /** Shadow evaluation of a candidate model on live traffic (none by default). */
  shadow: shadowRouteSchema.nullable().default(null),
  context: z
    .strictObject({
      /** Context documents passed to the reasoning tier at most. */
      topK: z.int().min(1).max(TASK_LIMITS.maxContextDocuments).default(2),
      /** A document scoring below this relevance (0 to 1) is not passed, even to fill topK. */
      minRelevance: z.number().min(0).max(1).default(0.01),
    })
    .default({ topK: 2, minRelevance: 0.01 }),
});
/** A policy as written in a PUT: omitted fields take their defaults. */
export type TenantPolicyInput = z.input<typeof tenantPolicySchema>;
export type TenantPolicy = z.output<typeof tenantPolicySchema>;

export const DEFAULT_TENANT_POLICY: TenantPolicy = tenantPolicySchema.parse({});

/** GET /v1/policy and PUT's answer: the policy, its version (0 for a tenant that never set one), who set it, when. */
export const tenantPolicyResponseSchema = z.strictObject({
  tenantId: z.string(),
  version: z.int().nonnegative(),
  policy: tenantPolicySchema,
  updatedBy: z.string().nullable(),
  updatedAt: z.iso.datetime().nullable(),
});
export type TenantPolicyResponse = z.infer<typeof tenantPolicyResponseSchema>;

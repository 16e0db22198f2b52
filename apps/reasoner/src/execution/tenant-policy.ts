import { type BudgetDeniedAction, TASK_LIMITS } from '@deliberate/contracts';
import { z } from 'zod';

// What a tenant wants when the reasoning model does not answer: the fallback chain after it, whether a budget
// denial falls back or fails the task, and how far a task may raise its thinking-token cap.
export const fallbackStepSchema = z.enum(['standard', 'human']);
export type FallbackStep = z.infer<typeof fallbackStepSchema>;

export const tenantPolicySchema = z.strictObject({
  fallback: z
    .array(fallbackStepSchema)
    .max(2)
    .refine((steps) => new Set(steps).size === steps.length, 'each step at most once')
    .refine(
      (steps) => !steps.includes('human') || steps[steps.length - 1] === 'human',
      "'human' ends the chain",
    )
    .optional(),
  onBudgetDenied: z.enum(['fallback', 'fail']).optional(),
  maxThinkingTokensCeiling: z.int().min(16).max(TASK_LIMITS.maxThinkingTokens).optional(),
});
export type TenantPolicyInput = z.infer<typeof tenantPolicySchema>;

export interface TenantPolicy {
  fallback: readonly FallbackStep[];
  onBudgetDenied: BudgetDeniedAction;
  maxThinkingTokensCeiling: number;
}

export const DEFAULT_FALLBACK: readonly FallbackStep[] = ['standard', 'human'];

/** REASONER_TENANT_POLICIES: a JSON object keyed by tenant id; bad entries are reported with their path. */
export const tenantPoliciesFromJson = z
  .string()
  .default('{}')
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a JSON object of tenant policies: ${(e as Error).message}`,
      });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().min(1).max(63), tenantPolicySchema));

export function resolveTenantPolicy(
  policies: Readonly<Record<string, TenantPolicyInput>>,
  tenantId: string,
  defaultCeiling: number,
): TenantPolicy {
  const p = policies[tenantId];
  return {
    fallback: p?.fallback ?? DEFAULT_FALLBACK,
    onBudgetDenied: p?.onBudgetDenied === 'fallback' ? 'route_cheap' : (p?.onBudgetDenied ?? 'fail'),
    maxThinkingTokensCeiling: p?.maxThinkingTokensCeiling ?? defaultCeiling,
  };
}

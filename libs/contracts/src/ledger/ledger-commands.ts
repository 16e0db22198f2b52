import { z } from 'zod';
import { budgetDeniedActionSchema } from '../policy/tenant-policy.schema';
import { modelTierSchema } from '../events/model-call-recorded.event';
import { serviceTierSchema } from '../task/service-tier.schema';
import { tokenUsageSchema } from '../task/token-usage.schema';
import { unsafeTextProblem } from '../text/unsafe-text';

// The cost ledger's request-reply commands, served over Kafka as NestJS message patterns.
// The pattern is the request topic; replies travel on `<pattern>.reply`.
export const LEDGER_PATTERNS = {
  reserve: 'ledger.reservation.reserve.v1',
  settle: 'ledger.reservation.settle.v1',
  release: 'ledger.reservation.release.v1',
} as const;
export type LedgerPattern = (typeof LEDGER_PATTERNS)[keyof typeof LEDGER_PATTERNS];

export const ledgerReplyTopic = (pattern: string) => `${pattern}.reply`;

// Text the ledger stores and looks up in Postgres: a NUL would fail the statement (answered as if the ledger were
// down, which callers wait out), and lone surrogates all become U+FFFD, so two different keys would be one.
const storedText = (schema: z.ZodString) =>
  schema.superRefine((text, ctx) => {
    const problem = unsafeTextProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: `must not hold a ${problem}` });
  });

const tenantId = storedText(z.string().min(1).max(63));

/**
 * Authorize worst-case spend before a paid call. The ledger prices the worst case itself from its catalogue:
 * every input token at the input price and `maxOutputTokens` at the dearer of the output and reasoning prices.
 */
export const reserveRequestSchema = z.strictObject({
  /**
   * The caller's idempotency key for this hold (one per paid call): a reserve repeated with the same key, after a
   * timeout or a redelivery, answers with the first reservation instead of holding again. Keys are per tenant; a
   * different request under a key already used is denied `invalid_request`, naming the key.
   */
  reservationKey: storedText(z.string().min(1).max(200)).nullable().default(null),
  tenantId,
  taskId: z.uuid(),
  apiKeyId: storedText(z.string().max(100)).nullable().default(null),
  project: storedText(z.string().max(200)).nullable().default(null),
  model: storedText(z.string().min(1).max(200)),
  /**
   * The tier of the call. While a tenant's cost breaker is open under its `route_cheap` policy, the fast tier is
   * still held (budgets permitting); every other tier, or a call that names none, is refused.
   */
  tier: modelTierSchema.nullable().default(null),
  /** The service tier the call asks for: the hold is priced at it (a flex price, or the default one without). */
  serviceTier: serviceTierSchema.default('default'),
  estimatedInputTokens: z.int().nonnegative().max(10_000_000),
  maxOutputTokens: z.int().nonnegative().max(10_000_000),
  /** The task's own ceiling (maxCostUsd), on top of the tenant's per-task ceiling. */
  taskCeilingMicroUsd: z.int().positive().nullable().default(null),
  /**
   * A shadow call (shadow evaluation): held on the tenant's shadow day counter within its policy's shadow budget,
   * and on nothing else: not the tenant's, key's or project's budgets, not the task's ceiling, not the cost breaker.
   * Its booking is marked shadow.
   */
  shadow: z.boolean().default(false),
  /** How long the hold lasts unless settled or released; the sweeper releases it after. */
  ttlMs: z
    .int()
    .min(1_000)
    .max(24 * 3_600_000)
    .nullable()
    .default(null),
});
export type ReserveRequest = z.input<typeof reserveRequestSchema>;

export const reservationDenialReasonSchema = z.enum([
  'budget_exceeded',
  'task_ceiling_exceeded',
  'breaker_open',
  'no_price',
  /** A shadow call past the policy's shadow budget of the day, or for a tenant whose policy names no shadow route. */
  'shadow_budget_exceeded',
  'invalid_request',
  'ledger_unavailable',
]);
export type ReservationDenialReason = z.infer<typeof reservationDenialReasonSchema>;

export const reserveReplySchema = z.discriminatedUnion('approved', [
  z.strictObject({
    approved: z.literal(true),
    reservationId: z.uuid(),
    amountMicroUsd: z.int().nonnegative(),
    expiresAt: z.iso.datetime(),
  }),
  z.strictObject({
    approved: z.literal(false),
    reason: reservationDenialReasonSchema,
    message: z.string(),
    /** For breaker_open and budget_exceeded: what the tenant's policy asks callers to do. */
    policy: budgetDeniedActionSchema.nullable(),
  }),
]);
export type ReserveReply = z.infer<typeof reserveReplySchema>;

/** Book the actual usage of the call a reservation covered, and release the rest of the hold. */
export const settleRequestSchema = z.strictObject({
  reservationId: z.uuid(),
  /** The id of the call's usage.model-call.recorded.v1 event: the booking is idempotent on it. */
  usageEventId: storedText(z.string().min(1).max(200)),
  model: storedText(z.string().min(1).max(200)),
  usage: tokenUsageSchema,
  /** The service tier the provider served the call at: the usage is priced at it. */
  serviceTier: serviceTierSchema.default('default'),
  /**
   * The call was cut off (abort, lost lease, crash) before the provider reported its usage: with zero usage it is
   * booked at the hold's worst case and marked aborted, since the provider may still bill it.
   */
  aborted: z.boolean().default(false),
});
export type SettleRequest = z.input<typeof settleRequestSchema>;

export const settleReplySchema = z.strictObject({
  booked: z.boolean(),
  costMicroUsd: z.int().nonnegative(),
  releasedMicroUsd: z.int().nonnegative(),
  message: z.string().nullable(),
});
export type SettleReply = z.infer<typeof settleReplySchema>;

export const releaseRequestSchema = z.strictObject({
  reservationId: z.uuid(),
  reason: storedText(z.string().max(500)),
});
export type ReleaseRequest = z.infer<typeof releaseRequestSchema>;

export const releaseReplySchema = z.strictObject({
  released: z.boolean(),
  releasedMicroUsd: z.int().nonnegative(),
});
export type ReleaseReply = z.infer<typeof releaseReplySchema>;

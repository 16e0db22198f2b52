import { z } from 'zod';
import { tenantIdSchema } from '../http/admin.dto';
import { queryInstantSchema } from './ledger-http.dto';

/** GET /v1/shadow/report: the shadow evaluation of a period, for one route or all. */
export const shadowReportQuerySchema = z
  .strictObject({
    from: queryInstantSchema
      .optional()
      .meta({ description: 'a UTC date or a date-time with offset; default: 7 days before `to`' }),
    to: queryInstantSchema
      .optional()
      .meta({ description: 'a UTC date or a date-time with offset; default: now' }),
    route: z
      .string()
      .regex(/^[a-z_]{1,50}$/, 'must be a route name (lower-case letters and _)')
      .optional()
      .meta({
        description: 'the live route compared (the reasoner\'s tasks: "reasoning"); default: every route',
      }),
    tenantId: tenantIdSchema.optional().meta({ description: 'platform admin only' }),
  })
  .transform((q) => {
    const to = q.to ?? new Date();
    return {
      from: q.from ?? new Date(to.getTime() - 7 * 86_400_000),
      to,
      route: q.route,
      tenantId: q.tenantId,
    };
  })
  .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['from'] });
export type ShadowReportQuery = z.output<typeof shadowReportQuerySchema>;

const side = z.strictObject({
  /** The models that answered on this side, most calls first. */
  models: z.array(z.string()),
  /** What the ledger booked for this side's calls of the compared tasks, in micro-USD. */
  costMicroUsd: z.int().nonnegative(),
  costPerTaskMicroUsd: z.int().nonnegative().nullable(),
  latencyMs: z.strictObject({
    mean: z.number().nullable(),
    p50: z.number().nullable(),
    p95: z.number().nullable(),
  }),
  inputTokens: z.int().nonnegative(),
  outputTokens: z.int().nonnegative(),
});

export const shadowReportResponseSchema = z.strictObject({
  tenantId: z.string(),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  route: z.string().nullable(),
  /** Sampled tasks whose shadow run ended in the period. */
  tasksCompared: z.int().nonnegative(),
  /** Of those, how the shadow runs ended (ok, length, error, refused, budget_denied). */
  shadowOutcomes: z.record(z.string(), z.int().nonnegative()),
  agreement: z.strictObject({
    /** Normalised exact match, then the judge model for answers not equal so (where the policy names one). */
    method: z.literal('normalised_exact_then_judge'),
    /** Tasks where both sides answered: the agreement rate's sample. */
    answeredBoth: z.int().nonnegative(),
    agreed: z.int().nonnegative(),
    /** Of the tasks both answered, those the judge decided (agreeing or not). */
    judged: z.int().nonnegative(),
    rate: z.number().min(0).max(1).nullable(),
    /** Wilson score interval at 95%. */
    confidence95: z.strictObject({ low: z.number(), high: z.number() }).nullable(),
  }),
  live: side,
  shadow: side,
  /** The judge's calls: evaluation overhead, in neither side's cost. */
  judge: z.strictObject({
    models: z.array(z.string()),
    calls: z.int().nonnegative(),
    costMicroUsd: z.int().nonnegative(),
  }),
  /**
   * The route's tasks a month at the period's pace, and what each side would cost for them at its mean cost per
   * compared task: the monthly cost of switching the route to the shadow model. Null when nothing was compared.
   */
  projectedMonthly: z
    .strictObject({
      routeTasksPerMonth: z.int().nonnegative(),
      liveMicroUsd: z.int().nonnegative(),
      shadowMicroUsd: z.int().nonnegative(),
      /** Shadow minus live: negative when switching saves. */
      differenceMicroUsd: z.int(),
    })
    .nullable(),
});
export type ShadowReportResponse = z.infer<typeof shadowReportResponseSchema>;

import { spendGroupSchema, tenantIdSchema } from '@deliberate/contracts';
import { z } from 'zod';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

// A query bound: a UTC date (its midnight) or a date-time with an offset.
const instant = z.string().transform((value, ctx) => {
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
    from: instant.optional(),
    to: instant.optional(),
    groupBy: spendGroupSchema.default('model'),
    tenantId: tenantIdSchema.optional(),
  })
  .transform((q) => {
    const now = new Date();
    return {
      from: q.from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
      to: q.to ?? now,
      groupBy: q.groupBy,
      tenantId: q.tenantId,
    };
  })
  .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['from'] });
export type SpendQuery = z.output<typeof spendQuerySchema>;

export const tenantQuerySchema = z.strictObject({ tenantId: tenantIdSchema.optional() });

import { z } from 'zod';
import { tenantIdSchema } from '../http/admin.dto';
import { modelTierSchema } from '../events/model-call-recorded.event';
import { budgetDeniedActionSchema } from '../policy/tenant-policy.schema';
import { reservationDenialReasonSchema } from './ledger-commands';
import { queryInstantSchema } from './ledger-http.dto';

// GET /v1/ledger/denials: the reservations the ledger refused, newest first, a page at a time.

/** Default and most denials on one page. */
export const DENIALS_PAGE_SIZE = { default: 50, max: 500 } as const;

export const denialResponseSchema = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  /** The caller's idempotency key of the refused reservation (null when the caller sent none). */
  reservationKey: z.string().nullable(),
  taskId: z.uuid(),
  model: z.string(),
  tier: modelTierSchema.nullable(),
  reason: reservationDenialReasonSchema,
  message: z.string(),
  /** The tenant's onBudgetDenied when it was refused, what callers then do; null for no_price (no budget denial). */
  onDenied: budgetDeniedActionSchema.nullable(),
  /** The worst case the call asked to hold; null when it could not be priced (no_price). */
  estimatedCostMicroUsd: z.int().nonnegative().nullable(),
  deniedAt: z.iso.datetime(),
});
export type DenialResponse = z.infer<typeof denialResponseSchema>;

export const denialListResponseSchema = z.object({
  denials: z.array(denialResponseSchema),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type DenialList = z.infer<typeof denialListResponseSchema>;

/** Where a page of denials ended: the last denial's time and id (newest first, so the next page is older). */
export interface DenialCursor {
  deniedAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeDenialCursor(c: DenialCursor): string {
  return Buffer.from(JSON.stringify([c.deniedAt.toISOString(), c.id])).toString('base64url');
}

/** The cursor `encodeDenialCursor` wrote, or null for anything else (a cursor is opaque: it is not built by hand). */
export function decodeDenialCursor(value: string): DenialCursor | null {
  if (!BASE64URL.test(value)) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return null;
  const [at, id] = decoded as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !UUID.test(id)) return null;
  const deniedAt = new Date(at);
  // Only the exact form this API writes, so two spellings of one position cannot exist.
  if (Number.isNaN(deniedAt.getTime()) || deniedAt.toISOString() !== at) return null;
  return { deniedAt, id };
}

const denialCursorSchema = z
  .string()
  .max(200, 'not a cursor this API returned (too long)')
  .transform((value, ctx) => {
    const cursor = decodeDenialCursor(value);
    if (!cursor) {
      ctx.addIssue({ code: 'custom', message: 'not a cursor this API returned' });
      return z.NEVER;
    }
    return cursor;
  });

const LIMIT_MESSAGE = `must be a whole number from 1 to ${DENIALS_PAGE_SIZE.max}`;

export const denialsQuerySchema = z
  .strictObject({
    tenantId: tenantIdSchema.optional().meta({ description: 'platform admin only' }),
    from: queryInstantSchema
      .optional()
      .meta({ description: 'denied at or after: a UTC date or a date-time with offset' }),
    to: queryInstantSchema
      .optional()
      .meta({ description: 'denied before (exclusive): a UTC date or a date-time with offset' }),
    reason: reservationDenialReasonSchema.optional(),
    taskId: z.uuid().optional(),
    limit: z.coerce
      .number({ error: LIMIT_MESSAGE })
      .int({ error: LIMIT_MESSAGE })
      .min(1, { error: LIMIT_MESSAGE })
      .max(DENIALS_PAGE_SIZE.max, { error: LIMIT_MESSAGE })
      .default(DENIALS_PAGE_SIZE.default)
      .meta({ description: `denials per page, at most ${DENIALS_PAGE_SIZE.max}` }),
    cursor: denialCursorSchema.optional().meta({ description: 'nextCursor of the previous page' }),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, { path: ['to'], message: 'must be after from' });
export type DenialsQuery = z.output<typeof denialsQuerySchema>;

import { z } from 'zod';
import { tenantIdSchema } from '../http/admin.dto';

// The audit API's queries (/v1/audit/*, behind the gateway): validated by the audit service, and the source of the
// gateway's OpenAPI parameters for those routes.

/** Default of AUDIT_PAGE_SIZE_MAX, the most records one page of /v1/audit/events may hold. */
export const DEFAULT_AUDIT_PAGE_SIZE_MAX = 500;

const seq = z.coerce.number().int().positive();
const isoTime = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
const shortText = z.string().min(1).max(200);

/** `?meta.<key>=<value>` query parameters: metadata the task was submitted with. */
const META_PREFIX = 'meta.';

function metadataFilters(query: Record<string, unknown>): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (k.startsWith(META_PREFIX) && typeof v === 'string') filters[k.slice(META_PREFIX.length)] = v;
  }
  return filters;
}

export const cursorSchema = z
  .string()
  .max(400)
  .transform((value, ctx) => {
    try {
      const [at, tenantId, s] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as [
        string,
        string,
        number,
      ];
      const occurredAt = new Date(at);
      if (Number.isNaN(occurredAt.getTime()) || typeof tenantId !== 'string' || !Number.isInteger(s))
        throw new Error();
      return { occurredAt, tenantId, seq: s };
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a cursor this API returned' });
      return z.NEVER;
    }
  });
export type Cursor = z.output<typeof cursorSchema>;

export function encodeCursor(c: { occurredAt: Date; tenantId: string; seq: number }): string {
  return Buffer.from(JSON.stringify([c.occurredAt.toISOString(), c.tenantId, c.seq])).toString('base64url');
}

const filterShape = {
  tenantId: tenantIdSchema
    .optional()
    .meta({ description: "platform auditor: the tenant to read (a tenant's auditor may only name its own)" }),
  from: isoTime.optional(),
  to: isoTime.optional().meta({ description: 'exclusive' }),
  type: shortText.optional().meta({ description: 'event type, e.g. tasks.task.triaged.v1' }),
  taskId: z.uuid().optional(),
  route: shortText.optional(),
  model: shortText.optional(),
  status: shortText.optional(),
  decision: shortText.optional(),
  q: z.string().min(1).max(500).optional().meta({
    description:
      'full-text search (web search syntax) over the redacted free text; encrypted tenants are not indexed',
  }),
};

const withMetadata = <T extends { from?: Date; to?: Date }>(
  value: T,
  query: Record<string, unknown>,
  ctx: z.RefinementCtx,
) => {
  if (value.from && value.to && value.from >= value.to) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  }
  const metadata = metadataFilters(query);
  if (Object.keys(metadata).length > 20)
    ctx.addIssue({ code: 'custom', path: ['meta'], message: 'at most 20 metadata filters' });
  return { ...value, metadata };
};

export function searchQuerySchema(maxPageSize: number) {
  return z
    .looseObject({
      ...filterShape,
      limit: z.coerce.number().int().min(1).max(maxPageSize).default(Math.min(100, maxPageSize)),
      cursor: cursorSchema.optional().meta({ description: 'nextCursor of the previous page' }),
    })
    .transform((v, ctx) => {
      const { tenantId, from, to, type, taskId, route, model, status, decision, q, limit, cursor } = v;
      return withMetadata(
        { tenantId, from, to, type, taskId, route, model, status, decision, q, limit, cursor },
        v,
        ctx,
      );
    });
}
export type SearchQuery = z.output<ReturnType<typeof searchQuerySchema>>;
export type EventFilters = Omit<SearchQuery, 'limit' | 'cursor'>;

export const exportQuerySchema = z
  .looseObject({
    ...filterShape,
    from: isoTime,
    to: isoTime.meta({ description: 'exclusive' }),
    format: z.enum(['jsonl', 'csv']).default('jsonl'),
  })
  .transform((v, ctx) => {
    const { tenantId, from, to, type, taskId, route, model, status, decision, q, format } = v;
    return withMetadata(
      { tenantId, from, to, type, taskId, route, model, status, decision, q, format },
      v,
      ctx,
    );
  });
export type ExportQuery = z.output<typeof exportQuerySchema>;

/** `?tenantId=` of the audit API: unknown parameters are ignored, as on every audit route. */
export const auditTenantQuerySchema = z.object({ tenantId: filterShape.tenantId });

export const verifyQuerySchema = z
  .object({
    tenantId: tenantIdSchema.optional().meta({ description: 'required for the platform auditor' }),
    fromSeq: seq.optional(),
    toSeq: seq.optional(),
  })
  .refine((v) => v.fromSeq === undefined || v.toSeq === undefined || v.fromSeq <= v.toSeq, {
    path: ['toSeq'],
    message: 'must not be below fromSeq',
  });
export type VerifyQuery = z.output<typeof verifyQuerySchema>;

export const checkpointsQuerySchema = z.object({
  tenantId: filterShape.tenantId,
  fromSeq: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});
export type CheckpointsQuery = z.output<typeof checkpointsQuerySchema>;

// What GET /v1/audit/verify answers with: the reasons a chain fails, named once for the verifier and its OpenAPI.

/** Why the walk of a chain stopped at a record (firstBrokenLink.reason). */
export const BROKEN_LINK_REASONS = [
  'content_mismatch',
  'link_mismatch',
  'gap',
  'checkpoint_mismatch',
  'checkpoint_unknown_key',
  'checkpoint_key_not_valid',
  'checkpoint_bad_signature',
] as const;
export type BrokenLinkReason = (typeof BROKEN_LINK_REASONS)[number];

/** How the chain head disagrees with the stored records or the newest signed checkpoint (headMismatch.reason). */
export const HEAD_MISMATCH_REASONS = ['head_rewound', 'head_hash_mismatch'] as const;
export type HeadMismatchReason = (typeof HEAD_MISMATCH_REASONS)[number];

import { z } from 'zod';

export const tenantIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{1,62}$/,
    'must be 2-63 lowercase letters, digits or dashes, starting with a letter or digit',
  );

/** `?tenantId=`: how a platform principal names the tenant it acts on; a tenant's own key may only name its own. */
export const tenantQuerySchema = z.strictObject({
  tenantId: tenantIdSchema.optional().meta({ description: 'platform admin only: the tenant acted on' }),
});
export type TenantQuery = z.output<typeof tenantQuerySchema>;

export const createTenantRequestSchema = z.strictObject({
  id: tenantIdSchema,
  name: z.string().min(1).max(200),
});
export type CreateTenantRequest = z.infer<typeof createTenantRequestSchema>;

// reviewer: answers tasks escalated to the human review queue.
export const apiKeyRoleSchema = z.enum(['submitter', 'auditor', 'admin', 'reviewer']);
export type ApiKeyRole = z.infer<typeof apiKeyRoleSchema>;

export const createApiKeyRequestSchema = z.strictObject({
  role: apiKeyRoleSchema,
  name: z.string().min(1).max(200).optional(),
});
export type CreateApiKeyRequest = z.infer<typeof createApiKeyRequestSchema>;

// A tenant's own quotas, set by the platform admin. null (or absent) means the service's configured default.
export const tenantQuotasSchema = z.object({
  // Requests per second each of the tenant's API keys may make, refilled continuously.
  requestsPerSecond: z.number().positive().max(100_000).nullable(),
  // Requests a key may make at once after being idle (the bucket's size).
  burst: z.int().min(1).max(1_000_000).nullable(),
  // Tasks submitted and not yet completed, failed or cancelled.
  maxUnfinishedTasks: z.int().min(0).max(10_000_000).nullable(),
  // Webhook endpoints the tenant may register (enforced by the webhooks service).
  maxWebhookEndpoints: z.int().min(0).max(100_000).nullable(),
});
export type TenantQuotas = z.infer<typeof tenantQuotasSchema>;

export const patchTenantRequestSchema = z.strictObject({
  quotas: tenantQuotasSchema.strict().partial(),
});
export type PatchTenantRequest = z.infer<typeof patchTenantRequestSchema>;

export const tenantResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
  quotas: tenantQuotasSchema,
});
export type TenantResponse = z.infer<typeof tenantResponseSchema>;

export const apiKeyResponseSchema = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  role: apiKeyRoleSchema,
  name: z.string().nullable(),
  prefix: z.string(),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiKeyResponse = z.infer<typeof apiKeyResponseSchema>;

/** Returned once, at creation: the secret is never stored in clear and cannot be shown again. */
export const createdApiKeyResponseSchema = apiKeyResponseSchema.extend({ key: z.string() });
export type CreatedApiKeyResponse = z.infer<typeof createdApiKeyResponseSchema>;

import { z } from 'zod';

export const tenantIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{1,62}$/,
    'must be 2-63 lowercase letters, digits or dashes, starting with a letter or digit',
  );

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

export const tenantResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
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

import { z } from 'zod';
import { apiKeyRoleSchema, tenantIdSchema } from './admin.dto';

/** GET /v1/me: who the calling key is, so a client shows what it may do. Tenant fields only for a tenant key. */
export const meResponseSchema = z.object({
  kind: z.enum(['tenant', 'platform-admin', 'platform-auditor']),
  tenantId: tenantIdSchema.optional(),
  role: apiKeyRoleSchema.optional(),
  keyId: z.string().optional(),
});
export type MeResponse = z.infer<typeof meResponseSchema>;

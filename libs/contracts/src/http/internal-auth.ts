import { z } from 'zod';
import { apiKeyRoleSchema, tenantIdSchema } from './admin.dto';

// The gateway alone authenticates API keys. It reverse-proxies the ledger, webhooks and audit APIs with the caller
// in this header; a service believes it only with the gateway's signature over the request (principal-signature.ts).
export const PRINCIPAL_HEADER = 'x-deliberate-principal';

/**
 * Who is calling: a tenant's API key; the platform admin (bootstrap key, manages tenants); or the platform
 * auditor (bootstrap key, reads every tenant's audit trail and nothing else).
 */
export const principalSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('tenant'),
    tenantId: tenantIdSchema,
    role: apiKeyRoleSchema,
    keyId: z.string().min(1).max(100),
    // The tenant's own cap on webhook endpoints when the platform admin set one; absent: the webhooks default.
    maxWebhookEndpoints: z.int().min(0).max(100_000).optional(),
  }),
  z.object({ kind: z.literal('platform-admin') }),
  z.object({ kind: z.literal('platform-auditor') }),
]);
/** The JSON value of the x-deliberate-principal header. */
export type Principal = z.infer<typeof principalSchema>;

/** What a handler may be called by: tenant roles and/or the two platform principals. */
export type Access = z.infer<typeof apiKeyRoleSchema> | 'platform-admin' | 'platform-auditor';

export function principalMayAccess(principal: Principal, access: readonly Access[]): boolean {
  return principal.kind === 'tenant' ? access.includes(principal.role) : access.includes(principal.kind);
}

export function describePrincipal(principal: Principal): string {
  if (principal.kind === 'tenant') return `role '${principal.role}'`;
  return principal.kind === 'platform-admin' ? 'the platform admin' : 'the platform auditor';
}

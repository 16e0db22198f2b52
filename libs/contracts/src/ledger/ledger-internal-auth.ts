import { z } from 'zod';
import { apiKeyRoleSchema, tenantIdSchema } from '../http/admin.dto';

// The gateway authenticates API keys and reverse-proxies /v1/ledger/* to the ledger with these two headers;
// the ledger trusts the principal only alongside the shared internal token.
export const LEDGER_INTERNAL_TOKEN_HEADER = 'x-deliberate-internal-token';
export const LEDGER_PRINCIPAL_HEADER = 'x-deliberate-principal';

/** The JSON value of the x-deliberate-principal header. */
export const ledgerPrincipalSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('tenant'),
    tenantId: tenantIdSchema,
    role: apiKeyRoleSchema,
    keyId: z.string().min(1).max(100),
  }),
  z.object({ kind: z.literal('platform-admin') }),
]);
export type LedgerPrincipal = z.infer<typeof ledgerPrincipalSchema>;

import type { ApiKeyRole } from '@deliberate/contracts';

/** Who is calling: a tenant's API key, or the platform admin (the bootstrap key, bound to no tenant). */
export type Principal =
  { kind: 'tenant'; tenantId: string; role: ApiKeyRole; keyId: string } | { kind: 'platform-admin' };

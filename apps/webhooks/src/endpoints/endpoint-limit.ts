import type { Principal } from '@deliberate/contracts';

// How many endpoints a caller may leave its tenant with. A tenant key is bound by its tenant's own cap, which the
// platform admin sets at the gateway and the gateway carries in the signed principal, or else by the service's
// default. The platform admin, who sets the caps, is not bound by them. Null: no limit.
export function endpointLimitFor(principal: Principal, defaultLimit: number): number | null {
  if (principal.kind !== 'tenant') return null;
  return principal.maxWebhookEndpoints ?? defaultLimit;
}

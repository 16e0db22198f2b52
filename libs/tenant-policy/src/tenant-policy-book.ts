import { DEFAULT_TENANT_POLICY, type TenantPolicy } from '@deliberate/contracts';

// The tenants' policies as read from tenants.policy.updated.v1: the highest version per tenant wins, whatever
// order the events arrive in (a republish, or a replay from the beginning, may bring an older one after a newer).

/** A tenant's policy and its version; version 0 is the default policy of a tenant that never set one. */
export interface VersionedTenantPolicy {
  readonly version: number;
  readonly policy: TenantPolicy;
}

const DEFAULT_ENTRY: VersionedTenantPolicy = { version: 0, policy: DEFAULT_TENANT_POLICY };

export class TenantPolicyBook {
  private readonly entries = new Map<string, VersionedTenantPolicy>();

  /** Keeps `policy` if it is newer than what the tenant has; false when it was ignored as stale. */
  apply(tenantId: string, version: number, policy: TenantPolicy): boolean {
    if (version <= this.versionOf(tenantId)) return false;
    this.entries.set(tenantId, { version, policy });
    return true;
  }

  current(tenantId: string): VersionedTenantPolicy {
    return this.entries.get(tenantId) ?? DEFAULT_ENTRY;
  }

  policyOf(tenantId: string): TenantPolicy {
    return this.current(tenantId).policy;
  }

  versionOf(tenantId: string): number {
    return this.current(tenantId).version;
  }

  get tenants(): number {
    return this.entries.size;
  }
}

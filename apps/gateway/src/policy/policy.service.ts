import {
  DEFAULT_TENANT_POLICY,
  type TenantPolicy,
  type TenantPolicyResponse,
  tenantPolicyUpdatedEvent,
} from '@deliberate/contracts';
import { Outbox, OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { Injectable, NotFoundException, PreconditionFailedException } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { PolicyRepository, type StoredPolicy } from './policy.repository';

// A publish that does not finish in this time is left to the outbox sweep; the caller has its answer already.
const PUBLISH_WAIT_MS = 1_000;

/** Who changed a policy, as the event and the history record it. */
export function changedBy(principal: Principal): string {
  switch (principal.kind) {
    case 'tenant':
      return `key:${principal.keyId}`;
    case 'platform-admin':
      return 'platform-admin';
    case 'platform-auditor':
      return 'platform-auditor';
  }
}

// One policy per tenant: each change is a new version, stored with its history row and its
// tenants.policy.updated.v1 event in one transaction, under the tenant's lock so that versions are consecutive.
@Injectable()
export class PolicyService {
  constructor(
    private readonly sql: Sql,
    private readonly policies: PolicyRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
  ) {}

  /** The tenant's policy, or the default policy at version 0; 404 for an unknown tenant. */
  async get(tenantId: string): Promise<TenantPolicyResponse> {
    const stored = await this.policies.current(tenantId);
    if (stored) return toResponse(tenantId, stored);
    if (!(await this.policies.tenantExists(tenantId))) throw unknownTenant(tenantId);
    return { tenantId, version: 0, policy: DEFAULT_TENANT_POLICY, updatedBy: null, updatedAt: null };
  }

  /**
   * Sets the tenant's policy as a new version. `expectedVersion` (from If-Match) makes the change conditional:
   * 412 when the tenant's version is another by then.
   */
  async put(
    tenantId: string,
    policy: TenantPolicy,
    updatedBy: string,
    expectedVersion: number | null,
  ): Promise<TenantPolicyResponse> {
    const { stored, event } = await this.sql.transaction(async (tx) => {
      if (!(await this.policies.lockTenant(tx, tenantId))) throw unknownTenant(tenantId);
      const version = (await this.policies.current(tenantId, tx))?.version ?? 0;
      if (expectedVersion !== null && expectedVersion !== version) {
        throw new PreconditionFailedException(
          `If-Match names version ${expectedVersion}, but the tenant's policy is at version ${version}; read it again and retry`,
        );
      }
      const stored = await this.policies.store(tx, tenantId, { version: version + 1, policy, updatedBy });
      // An earlier version whose publish was not marked (a cut connection) must not go out after this one.
      await this.outbox.supersede(tx, tenantPolicyUpdatedEvent, tenantId);
      const event = await this.outbox.add(
        tx,
        tenantPolicyUpdatedEvent,
        {
          version: stored.version,
          policy: stored.policy,
          updatedBy: stored.updatedBy,
          updatedAt: stored.updatedAt.toISOString(),
        },
        { tenantId },
      );
      return { stored, event };
    });
    await waitAtMost(this.relay.publish([event]), PUBLISH_WAIT_MS);
    return toResponse(tenantId, stored);
  }
}

function toResponse(tenantId: string, stored: StoredPolicy): TenantPolicyResponse {
  return {
    tenantId,
    version: stored.version,
    policy: stored.policy,
    updatedBy: stored.updatedBy,
    updatedAt: stored.updatedAt.toISOString(),
  };
}

function unknownTenant(tenantId: string): NotFoundException {
  return new NotFoundException(`tenant '${tenantId}' not found`);
}

async function waitAtMost(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

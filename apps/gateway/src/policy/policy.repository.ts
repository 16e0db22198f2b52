import { type TenantPolicy, tenantPolicySchema } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

interface PolicyRow {
  version: number;
  policy: unknown;
  updated_by: string;
  updated_at: Date;
}

export interface StoredPolicy {
  version: number;
  policy: TenantPolicy;
  updatedBy: string;
  updatedAt: Date;
}

// Parsed again on the way out: a policy stored before a field existed answers with that field's default.
const toStored = (r: PolicyRow): StoredPolicy => ({
  version: r.version,
  policy: tenantPolicySchema.parse(r.policy),
  updatedBy: r.updated_by,
  updatedAt: r.updated_at,
});

@Injectable()
export class PolicyRepository {
  constructor(private readonly sql: Sql) {}

  async tenantExists(tenantId: string): Promise<boolean> {
    return (await this.sql.maybe(`SELECT 1 FROM tenants WHERE id = $1`, [tenantId])) !== undefined;
  }

  /** The tenant's current policy; undefined when it never set one. */
  async current(tenantId: string, sql: Sql = this.sql): Promise<StoredPolicy | undefined> {
    const row = await sql.maybe<PolicyRow>(
      `SELECT version, policy, updated_by, updated_at FROM tenant_policies WHERE tenant_id = $1`,
      [tenantId],
    );
    return row ? toStored(row) : undefined;
  }

  /**
   * Locks the tenant's row until the transaction ends, so the policy writes of one tenant take turns (each reads the
   * version the previous one wrote). False when the tenant does not exist.
   */
  async lockTenant(tx: Sql, tenantId: string): Promise<boolean> {
    return (
      (await tx.maybe(`SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, [tenantId])) !== undefined
    );
  }

  /** Writes `version` as the tenant's current policy and into its history; call with the tenant locked. */
  async store(
    tx: Sql,
    tenantId: string,
    next: { version: number; policy: TenantPolicy; updatedBy: string },
  ): Promise<StoredPolicy> {
    const row = await tx.one<PolicyRow>(
      `INSERT INTO tenant_policies (tenant_id, version, policy, updated_by, updated_at)
       VALUES ($1, $2, $3::jsonb, $4, now())
       ON CONFLICT (tenant_id) DO UPDATE
         SET version = EXCLUDED.version, policy = EXCLUDED.policy,
             updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
       RETURNING version, policy, updated_by, updated_at`,
      [tenantId, next.version, JSON.stringify(next.policy), next.updatedBy],
    );
    await tx.execute(
      `INSERT INTO tenant_policy_versions (tenant_id, version, policy, updated_by, updated_at)
       VALUES ($1, $2, $3::jsonb, $4, $5)`,
      [tenantId, row.version, JSON.stringify(row.policy), row.updated_by, row.updated_at],
    );
    return toStored(row);
  }
}

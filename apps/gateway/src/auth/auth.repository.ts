import type { ApiKeyResponse, ApiKeyRole, TenantQuotas, TenantResponse } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  role: ApiKeyRole;
  name: string | null;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toApiKey = (r: ApiKeyRow): ApiKeyResponse => ({
  id: r.id,
  tenantId: r.tenant_id,
  role: r.role,
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null,
});

interface QuotaColumns {
  quota_requests_per_second: number | null;
  quota_burst: number | null;
  quota_max_unfinished_tasks: number | null;
  quota_max_webhook_endpoints: number | null;
}

interface TenantRow extends QuotaColumns {
  id: string;
  name: string;
  created_at: Date;
}

const QUOTA_COLUMNS = `t.quota_requests_per_second, t.quota_burst, t.quota_max_unfinished_tasks,
  t.quota_max_webhook_endpoints`;
const TENANT_COLUMNS = `t.id, t.name, t.created_at, ${QUOTA_COLUMNS}`;

const toQuotas = (r: QuotaColumns): TenantQuotas => ({
  requestsPerSecond: r.quota_requests_per_second,
  burst: r.quota_burst,
  maxUnfinishedTasks: r.quota_max_unfinished_tasks,
  maxWebhookEndpoints: r.quota_max_webhook_endpoints,
});

const toTenant = (r: TenantRow): TenantResponse => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at.toISOString(),
  quotas: toQuotas(r),
});

@Injectable()
export class AuthRepository {
  constructor(private readonly sql: Sql) {}

  /** An active key with its tenant's quota overrides. */
  async findActiveKeyByHash(hash: string): Promise<(ApiKeyResponse & { quotas: TenantQuotas }) | null> {
    const row = await this.sql.maybe<ApiKeyRow & QuotaColumns>(
      `SELECT k.id, k.tenant_id, k.role, k.name, k.prefix, k.created_at, k.revoked_at, ${QUOTA_COLUMNS}
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
      [hash],
    );
    return row ? { ...toApiKey(row), quotas: toQuotas(row) } : null;
  }

  /** Returns null when the tenant id is taken. */
  async insertTenant(id: string, name: string): Promise<TenantResponse | null> {
    const row = await this.sql.maybe<TenantRow>(
      `INSERT INTO tenants AS t (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING
       RETURNING ${TENANT_COLUMNS}`,
      [id, name],
    );
    return row ? toTenant(row) : null;
  }

  async listTenants(): Promise<TenantResponse[]> {
    const rows = await this.sql.query<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants t ORDER BY id`);
    return rows.map(toTenant);
  }

  /** Sets the given overrides (null: back to the default), leaves the others; null when there is no such tenant. */
  async updateTenantQuotas(id: string, quotas: Partial<TenantQuotas>): Promise<TenantResponse | null> {
    const columns: Record<keyof TenantQuotas, string> = {
      requestsPerSecond: 'quota_requests_per_second',
      burst: 'quota_burst',
      maxUnfinishedTasks: 'quota_max_unfinished_tasks',
      maxWebhookEndpoints: 'quota_max_webhook_endpoints',
    };
    const given = (Object.keys(columns) as (keyof TenantQuotas)[]).filter((k) => quotas[k] !== undefined);
    const set = given.map(
      (k, i) => `${columns[k]} = $${i + 2}::${k === 'requestsPerSecond' ? 'float8' : 'int'}`,
    );
    const row = await this.sql.maybe<TenantRow>(
      `UPDATE tenants t SET ${set.length ? set.join(', ') : 'id = id'} WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
      [id, ...given.map((k) => quotas[k])],
    );
    return row ? toTenant(row) : null;
  }

  async tenantExists(id: string): Promise<boolean> {
    return (await this.sql.maybe(`SELECT 1 FROM tenants WHERE id = $1`, [id])) !== undefined;
  }

  async insertApiKey(key: {
    id: string;
    tenantId: string;
    role: ApiKeyRole;
    name: string | null;
    hash: string;
    prefix: string;
  }): Promise<ApiKeyResponse> {
    const row = await this.sql.one<ApiKeyRow>(
      `INSERT INTO api_keys (id, tenant_id, role, name, key_hash, prefix) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, tenant_id, role, name, prefix, created_at, revoked_at`,
      [key.id, key.tenantId, key.role, key.name, key.hash, key.prefix],
    );
    return toApiKey(row);
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyResponse[]> {
    const rows = await this.sql.query<ApiKeyRow>(
      `SELECT id, tenant_id, role, name, prefix, created_at, revoked_at FROM api_keys
        WHERE tenant_id = $1 ORDER BY created_at`,
      [tenantId],
    );
    return rows.map(toApiKey);
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<ApiKeyResponse | null> {
    const r = await this.sql.maybe<ApiKeyRow>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE tenant_id = $1 AND id = $2
       RETURNING id, tenant_id, role, name, prefix, created_at, revoked_at`,
      [tenantId, keyId],
    );
    return r ? toApiKey(r) : null;
  }
}

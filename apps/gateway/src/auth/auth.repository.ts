import type { ApiKeyResponse, ApiKeyRole, TenantResponse } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

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

@Injectable()
export class AuthRepository {
  constructor(private readonly db: DataSource) {}

  async findActiveKeyByHash(hash: string): Promise<ApiKeyResponse | null> {
    const rows: ApiKeyRow[] = await this.db.query(
      `SELECT id, tenant_id, role, name, prefix, created_at, revoked_at FROM api_keys
        WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    return rows[0] ? toApiKey(rows[0]) : null;
  }

  /** Returns null when the tenant id is taken. */
  async insertTenant(id: string, name: string): Promise<TenantResponse | null> {
    const rows: { id: string; name: string; created_at: Date }[] = await this.db.query(
      `INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id, name, created_at`,
      [id, name],
    );
    const r = rows[0];
    return r ? { id: r.id, name: r.name, createdAt: r.created_at.toISOString() } : null;
  }

  async listTenants(): Promise<TenantResponse[]> {
    const rows: { id: string; name: string; created_at: Date }[] = await this.db.query(
      `SELECT id, name, created_at FROM tenants ORDER BY id`,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString() }));
  }

  async tenantExists(id: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM tenants WHERE id = $1`, [id]);
    return rows.length > 0;
  }

  async insertApiKey(key: {
    id: string;
    tenantId: string;
    role: ApiKeyRole;
    name: string | null;
    hash: string;
    prefix: string;
  }): Promise<ApiKeyResponse> {
    const rows: ApiKeyRow[] = await this.db.query(
      `INSERT INTO api_keys (id, tenant_id, role, name, key_hash, prefix) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, tenant_id, role, name, prefix, created_at, revoked_at`,
      [key.id, key.tenantId, key.role, key.name, key.hash, key.prefix],
    );
    return toApiKey(rows[0]!);
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyResponse[]> {
    const rows: ApiKeyRow[] = await this.db.query(
      `SELECT id, tenant_id, role, name, prefix, created_at, revoked_at FROM api_keys
        WHERE tenant_id = $1 ORDER BY created_at`,
      [tenantId],
    );
    return rows.map(toApiKey);
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<ApiKeyResponse | null> {
    const rows: [ApiKeyRow[], number] = await this.db.query(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE tenant_id = $1 AND id = $2
       RETURNING id, tenant_id, role, name, prefix, created_at, revoked_at`,
      [tenantId, keyId],
    );
    const r = rows[0][0];
    return r ? toApiKey(r) : null;
  }
}

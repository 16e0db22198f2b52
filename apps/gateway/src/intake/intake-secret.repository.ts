import type { IntakeSecretResponse } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

interface IntakeSecretRow {
  id: string;
  tenant_id: string;
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  status: IntakeSecretResponse['status'];
}

const COLUMNS = `id, tenant_id, prefix, created_at, expires_at, revoked_at,
  CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
       WHEN expires_at IS NULL THEN 'active'
       WHEN expires_at > now() THEN 'expiring'
       ELSE 'expired' END AS status`;

// A secret verifies while it is neither revoked nor past the end of its overlap.
const VALID = `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;

const toResponse = (r: IntakeSecretRow): IntakeSecretResponse => ({
  id: r.id,
  tenantId: r.tenant_id,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
  status: r.status,
});

@Injectable()
export class IntakeSecretRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Stores a new secret; the tenant's valid secrets then end within `overlapMs` (at once for 0). Null when the
   * tenant does not exist. Issues for one tenant are serialised, so two at once cannot both stay open-ended.
   */
  issue(
    secret: { id: string; tenantId: string; secret: string; prefix: string },
    overlapMs: number,
  ): Promise<IntakeSecretResponse | null> {
    return this.sql.transaction(async (tx) => {
      const tenant = await tx.maybe(`SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, [
        secret.tenantId,
      ]);
      if (!tenant) return null;
      await tx.execute(
        `UPDATE intake_secrets
            SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => $2::double precision / 1000))
          WHERE tenant_id = $1 AND ${VALID}`,
        [secret.tenantId, overlapMs],
      );
      const row = await tx.one<IntakeSecretRow>(
        `INSERT INTO intake_secrets (id, tenant_id, secret, prefix) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [secret.id, secret.tenantId, secret.secret, secret.prefix],
      );
      return toResponse(row);
    });
  }

  /** Newest first, without the secrets. */
  async list(tenantId: string): Promise<IntakeSecretResponse[]> {
    const rows = await this.sql.query<IntakeSecretRow>(
      `SELECT ${COLUMNS} FROM intake_secrets WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`,
      [tenantId],
    );
    return rows.map(toResponse);
  }

  async revoke(tenantId: string, id: string): Promise<IntakeSecretResponse | null> {
    const row = await this.sql.maybe<IntakeSecretRow>(
      `UPDATE intake_secrets SET revoked_at = COALESCE(revoked_at, now()) WHERE tenant_id = $1 AND id = $2
       RETURNING ${COLUMNS}`,
      [tenantId, id],
    );
    return row ? toResponse(row) : null;
  }

  async tenantExists(tenantId: string): Promise<boolean> {
    return (await this.sql.maybe(`SELECT 1 FROM tenants WHERE id = $1`, [tenantId])) !== undefined;
  }

  /** The secrets that verify a submission of the tenant now, newest first. */
  validSecrets(tenantId: string): Promise<{ id: string; secret: string }[]> {
    return this.sql.query<{ id: string; secret: string }>(
      `SELECT id, secret FROM intake_secrets WHERE tenant_id = $1 AND ${VALID} ORDER BY created_at DESC LIMIT 50`,
      [tenantId],
    );
  }
}

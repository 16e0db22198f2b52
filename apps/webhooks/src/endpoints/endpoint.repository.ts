import type { WebhookEndpointResponse, WebhookEventType } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';

export interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string;
  event_types: WebhookEventType[];
  status: 'enabled' | 'disabled';
  disabled_reason: 'gone' | 'sustained_failure' | 'manual' | null;
  disabled_message: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  secret_rotated_at: Date | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, tenant_id, url, description, event_types, status, disabled_reason, disabled_message, disabled_at,
  failing_since, secret_rotated_at, previous_secret_expires_at, created_at, updated_at`;

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function toEndpointResponse(r: EndpointRow): WebhookEndpointResponse {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    status: r.status,
    disabledReason: r.disabled_reason,
    disabledMessage: r.disabled_message,
    disabledAt: iso(r.disabled_at),
    failingSince: iso(r.failing_since),
    secretRotatedAt: iso(r.secret_rotated_at),
    previousSecretExpiresAt: iso(r.previous_secret_expires_at),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

@Injectable()
export class EndpointRepository {
  insert(
    sql: Sql,
    e: {
      id: string;
      tenantId: string;
      url: string;
      description: string;
      eventTypes: string[];
      secret: string;
    },
  ): Promise<EndpointRow> {
    return sql.one<EndpointRow>(
      `INSERT INTO endpoints (id, tenant_id, url, description, event_types, status, secret)
       VALUES ($1, $2, $3, $4, $5, 'enabled', $6) RETURNING ${COLUMNS}`,
      [e.id, e.tenantId, e.url, e.description, e.eventTypes, e.secret],
    );
  }

  /**
   * Holds the tenant's endpoint creations back until the transaction ends, then counts its endpoints: creations
   * racing for the tenant's last place are counted one after the other.
   */
  async lockAndCount(tx: Sql, tenantId: string): Promise<number> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('webhooks.endpoints:' || $1, 0))`, [
      tenantId,
    ]);
    const row = await tx.one<{ n: number }>(`SELECT count(*)::int AS n FROM endpoints WHERE tenant_id = $1`, [
      tenantId,
    ]);
    return row.n;
  }

  list(sql: Sql, tenantId: string): Promise<EndpointRow[]> {
    return sql.query<EndpointRow>(
      `SELECT ${COLUMNS} FROM endpoints WHERE tenant_id = $1 ORDER BY created_at`,
      [tenantId],
    );
  }

  async get(sql: Sql, tenantId: string, id: string, lock = false): Promise<EndpointRow | null> {
    const row = await sql.maybe<EndpointRow>(
      `SELECT ${COLUMNS} FROM endpoints WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [tenantId, id],
    );
    return row ?? null;
  }

  update(
    sql: Sql,
    id: string,
    changes: {
      url?: string | undefined;
      description?: string | undefined;
      eventTypes?: string[] | undefined;
    },
  ): Promise<EndpointRow> {
    return sql.one<EndpointRow>(
      `UPDATE endpoints SET url = coalesce($2, url), description = coalesce($3, description),
              event_types = coalesce($4, event_types), updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, changes.url ?? null, changes.description ?? null, changes.eventTypes ?? null],
    );
  }

  rotate(sql: Sql, id: string, secret: string, overlapMs: number): Promise<EndpointRow> {
    return sql.one<EndpointRow>(
      `UPDATE endpoints
          SET previous_secret = CASE WHEN $3::double precision > 0 THEN secret END,
              previous_secret_expires_at = CASE WHEN $3::double precision > 0
                THEN now() + make_interval(secs => $3::double precision / 1000) END,
              secret = $2, secret_rotated_at = now(), updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, secret, overlapMs],
    );
  }

  enable(sql: Sql, id: string): Promise<EndpointRow> {
    return sql.one<EndpointRow>(
      `UPDATE endpoints SET status = 'enabled', disabled_reason = NULL, disabled_message = NULL, disabled_at = NULL,
              failing_since = NULL, updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
  }
}

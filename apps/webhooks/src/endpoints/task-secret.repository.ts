import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

export interface TaskSecretRow {
  tenant_id: string;
  created_at: Date;
  secret_rotated_at: Date | null;
  previous_secret_expires_at: Date | null;
}

const COLUMNS = 'tenant_id, created_at, secret_rotated_at, previous_secret_expires_at';

// Each tenant's secret for deliveries to tasks' own webhookUrl; the secrets arrive here already encrypted.
@Injectable()
export class TaskSecretRepository {
  constructor(private readonly sql: Sql) {}

  find(tenantId: string): Promise<TaskSecretRow | undefined> {
    return this.sql.maybe<TaskSecretRow>(`SELECT ${COLUMNS} FROM task_secrets WHERE tenant_id = $1`, [
      tenantId,
    ]);
  }

  /** Undefined when the tenant has a secret already. */
  insert(tenantId: string, sealedSecret: string): Promise<TaskSecretRow | undefined> {
    return this.sql.maybe<TaskSecretRow>(
      `INSERT INTO task_secrets (tenant_id, secret) VALUES ($1, $2) ON CONFLICT (tenant_id) DO NOTHING RETURNING ${COLUMNS}`,
      [tenantId, sealedSecret],
    );
  }

  /** Replaces the secret; the old one keeps signing for `overlapMs` (not at all for 0). Undefined without a secret. */
  rotate(tenantId: string, sealedSecret: string, overlapMs: number): Promise<TaskSecretRow | undefined> {
    return this.sql.maybe<TaskSecretRow>(
      `UPDATE task_secrets
          SET previous_secret = CASE WHEN $3::double precision > 0 THEN secret END,
              previous_secret_expires_at = CASE WHEN $3::double precision > 0
                THEN now() + make_interval(secs => $3::double precision / 1000) END,
              secret = $2, secret_rotated_at = now()
        WHERE tenant_id = $1 RETURNING ${COLUMNS}`,
      [tenantId, sealedSecret, overlapMs],
    );
  }
}

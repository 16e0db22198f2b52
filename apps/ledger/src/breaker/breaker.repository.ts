import type { BreakerPolicy } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';
import { toNumber } from '../persistence/postgres-numbers';

// exceeded_hold: a call cost more than the worst case its reservation held.
export type BreakerTripReason = 'spend_rate' | 'budget_exhausted' | 'exceeded_hold';

export interface BreakerRecord {
  tenantId: string;
  state: 'closed' | 'open';
  reason: BreakerTripReason | null;
  message: string | null;
  policy: BreakerPolicy | null;
  windowSeconds: number | null;
  windowSpendMicroUsd: number;
  openedAt: Date | null;
  retryAt: Date | null;
}

export interface BreakerOpening {
  tenantId: string;
  reason: BreakerTripReason;
  message: string;
  policy: BreakerPolicy;
  windowSeconds: number;
  windowSpendMicroUsd: number;
  openedAt: Date;
  retryAt: Date;
}

interface BreakerRow {
  tenant_id: string;
  state: 'closed' | 'open';
  reason: BreakerTripReason | null;
  message: string | null;
  policy: BreakerPolicy | null;
  window_seconds: number | null;
  window_spend_micro_usd: string | null;
  opened_at: Date | null;
  retry_at: Date | null;
}

const COLUMNS = `tenant_id, state, reason, message, policy, window_seconds, window_spend_micro_usd, opened_at, retry_at`;

const toRecord = (r: BreakerRow): BreakerRecord => ({
  tenantId: r.tenant_id,
  state: r.state,
  reason: r.reason,
  message: r.message,
  policy: r.policy,
  windowSeconds: r.window_seconds,
  windowSpendMicroUsd: toNumber(r.window_spend_micro_usd),
  openedAt: r.opened_at,
  retryAt: r.retry_at,
});

// Breaker state shared by every ledger instance. Each transition is a conditional write, so exactly one instance
// wins it and publishes its event.
@Injectable()
export class BreakerRepository {
  async find(sql: Sql, tenantId: string): Promise<BreakerRecord | null> {
    const rows = await sql.query<BreakerRow>(`SELECT ${COLUMNS} FROM breakers WHERE tenant_id = $1`, [
      tenantId,
    ]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Opens the breaker unless it is open already; null when another change got there first. */
  async tryOpen(tx: Sql, o: BreakerOpening): Promise<BreakerRecord | null> {
    const rows = await tx.query<BreakerRow>(
      `INSERT INTO breakers (tenant_id, state, reason, message, policy, window_seconds, window_spend_micro_usd,
                             opened_at, retry_at, closed_at, updated_at)
       VALUES ($1, 'open', $2, $3, $4, $5, $6, $7, $8, NULL, now())
       ON CONFLICT (tenant_id) DO UPDATE SET
         state = 'open', reason = EXCLUDED.reason, message = EXCLUDED.message, policy = EXCLUDED.policy,
         window_seconds = EXCLUDED.window_seconds, window_spend_micro_usd = EXCLUDED.window_spend_micro_usd,
         opened_at = EXCLUDED.opened_at, retry_at = EXCLUDED.retry_at, closed_at = NULL, updated_at = now()
       WHERE breakers.state = 'closed'
       RETURNING ${COLUMNS}`,
      [
        o.tenantId,
        o.reason,
        o.message,
        o.policy,
        o.windowSeconds,
        o.windowSpendMicroUsd,
        o.openedAt,
        o.retryAt,
      ],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The tenants whose breaker is open now. */
  async openTenants(sql: Sql): Promise<string[]> {
    const rows = await sql.query<{ tenant_id: string }>(
      `SELECT tenant_id FROM breakers WHERE state = 'open'`,
    );
    return rows.map((r) => r.tenant_id);
  }

  /** Open breakers whose cool-down is over, locked; another instance's are skipped. */
  async claimDue(tx: Sql, limit: number): Promise<BreakerRecord[]> {
    const rows = await tx.query<BreakerRow>(
      `SELECT ${COLUMNS} FROM breakers
        WHERE state = 'open' AND retry_at <= now()
        ORDER BY retry_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map(toRecord);
  }

  async close(tx: Sql, tenantId: string): Promise<boolean> {
    const rows = await tx.query<{ tenant_id: string }>(
      `UPDATE breakers SET state = 'closed', closed_at = now(), updated_at = now()
        WHERE tenant_id = $1 AND state = 'open'
        RETURNING tenant_id`,
      [tenantId],
    );
    return rows.length > 0;
  }

  async extend(
    tx: Sql,
    tenantId: string,
    retryAt: Date,
    message: string,
    windowSpendMicroUsd: number,
  ): Promise<void> {
    await tx.query(
      `UPDATE breakers SET retry_at = $2, message = $3, window_spend_micro_usd = $4, updated_at = now()
        WHERE tenant_id = $1 AND state = 'open'`,
      [tenantId, retryAt, message, windowSpendMicroUsd],
    );
  }
}

import { statusRank } from '@deliberate/contracts';
import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

// Terminal statuses share the highest rank; the partial index tasks_unfinished has the same predicate.
export const TERMINAL_RANK = statusRank('completed');

const NOW_MS = `extract(epoch FROM clock_timestamp()) * 1000`;

// What the bucket holds now: what it held, refilled at $2 per second since, never more than $3.
const available = (row: string, nowMs: string) =>
  `least($3::double precision, ${row}.tokens
     + greatest(0, ${nowMs} - ${row}.refilled_at_ms) * $2::double precision / 1000)`;

@Injectable()
export class QuotaRepository {
  /**
   * Takes one token from the key's bucket when it holds one, in one statement on one row, so every gateway replica
   * shares the bucket. A refused request leaves the row as it was. Time is the database's clock, so the replicas'
   * clocks need not agree. `tokens` is what is left (allowed) or what there is (refused).
   */
  async takeRequestToken(
    sql: Sql,
    keyId: string,
    perSecond: number,
    burst: number,
  ): Promise<{ allowed: boolean; tokens: number }> {
    const rows = await sql.query<{ allowed: boolean; tokens: number }>(
      `WITH taken AS (
         INSERT INTO api_key_rate_buckets AS b (key_id, tokens, refilled_at_ms)
         VALUES ($1, $3::double precision - 1, ${NOW_MS})
         ON CONFLICT (key_id) DO UPDATE
           SET tokens = ${available('b', 'EXCLUDED.refilled_at_ms')} - 1,
               refilled_at_ms = EXCLUDED.refilled_at_ms
           WHERE ${available('b', 'EXCLUDED.refilled_at_ms')} >= 1
         RETURNING tokens)
       SELECT true AS allowed, tokens FROM taken
       UNION ALL
       SELECT false AS allowed, ${available('r', NOW_MS)} AS tokens
         FROM api_key_rate_buckets r WHERE r.key_id = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
      [keyId, perSecond, burst],
    );
    // A refused request whose row vanished in between (it never does: buckets are not deleted) counts as empty.
    return rows[0] ?? { allowed: false, tokens: 0 };
  }

  /**
   * Locks the tenant's admission until the transaction ends, so concurrent submissions are counted one after the
   * other. Answers the tenant's own limit (null: the default) and its unfinished tasks as this transaction sees them
   * (its own insert included), counted up to `countUpTo`. Null when the tenant does not exist.
   */
  async lockAdmission(
    tx: Sql,
    tenantId: string,
    countUpTo: (override: number | null) => number,
  ): Promise<{ override: number | null; unfinished: number } | null> {
    const tenant = await tx.maybe<{ quota_max_unfinished_tasks: number | null }>(
      `SELECT quota_max_unfinished_tasks FROM tenants WHERE id = $1 FOR NO KEY UPDATE`,
      [tenantId],
    );
    if (!tenant) return null;
    const override = tenant.quota_max_unfinished_tasks;
    const counted = await tx.one<{ unfinished: number }>(
      `SELECT count(*)::int AS unfinished FROM (
         SELECT 1 FROM tasks WHERE tenant_id = $1 AND status_rank < ${TERMINAL_RANK} LIMIT $2) u`,
      [tenantId, countUpTo(override)],
    );
    return { override, unfinished: counted.unfinished };
  }
}

import { uuidv7 } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { OutboxMessage, OutboxSql as Sql } from './outbox-message';

interface OutboxRow {
  id: string;
  topic: string;
  tenant_id: string;
  task_id: string | null;
  payload: unknown;
}

const toMessage = (r: OutboxRow): OutboxMessage => ({
  id: r.id,
  topic: r.topic,
  tenantId: r.tenant_id,
  taskId: r.task_id,
  payload: r.payload,
});

// The `outbox` table of the service's own schema (the connection's search_path), created by its migrations.
@Injectable()
export class OutboxRepository {
  /** One INSERT for many events: a service may record a batch at a time. */
  async insert(tx: Sql, messages: readonly Omit<OutboxMessage, 'id'>[]): Promise<OutboxMessage[]> {
    if (!messages.length) return [];
    const rows = messages.map((m) => ({ ...m, id: uuidv7() }));
    await tx.query(
      // A row's age counts from its insert, not from its transaction's start: a long transaction must not hand the
      // sweep a row the commit's own publish is about to send.
      `INSERT INTO outbox (id, topic, tenant_id, task_id, payload, created_at)
       SELECT u.*, clock_timestamp() FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[]) AS u`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.topic),
        rows.map((r) => r.tenantId),
        rows.map((r) => r.taskId),
        rows.map((r) => JSON.stringify(r.payload)),
      ],
    );
    return rows;
  }

  async markPublished(sql: Sql, ids: readonly string[]): Promise<void> {
    if (!ids.length) return;
    await sql.query(
      `UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[]) AND published_at IS NULL`,
      [ids],
    );
  }

  /** Sets rows aside that can never be published, with the reason; the relay no longer claims them. */
  async markDead(sql: Sql, rows: readonly { id: string; reason: string }[]): Promise<void> {
    if (!rows.length) return;
    await sql.query(
      `UPDATE outbox SET dead_at = now(), dead_reason = v.reason
         FROM unnest($1::uuid[], $2::text[]) AS v (id, reason)
        WHERE outbox.id = v.id AND outbox.published_at IS NULL AND outbox.dead_at IS NULL`,
      [rows.map((r) => r.id), rows.map((r) => r.reason)],
    );
  }

  /**
   * Marks the tenant's pending rows of `topic` published without sending them. Waits for a row the sweep holds (it
   * is being sent), so that one goes out before the caller's own row.
   */
  async supersede(tx: Sql, topic: string, tenantId: string): Promise<void> {
    await tx.query(
      `UPDATE outbox SET published_at = now()
        WHERE topic = $1 AND tenant_id = $2 AND published_at IS NULL AND dead_at IS NULL`,
      [topic, tenantId],
    );
  }

  /** Pending messages older than `olderThanMs`, oldest first, locked so instances split them. */
  async claimStale(tx: Sql, olderThanMs: number, limit: number): Promise<OutboxMessage[]> {
    const rows = (await tx.query(
      `SELECT id, topic, tenant_id, task_id, payload FROM outbox
        WHERE published_at IS NULL AND dead_at IS NULL
          AND created_at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY created_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [olderThanMs, limit],
    )) as OutboxRow[];
    return rows.map(toMessage);
  }

  async countDead(sql: Sql): Promise<number> {
    const rows = (await sql.query(`SELECT count(*)::int AS n FROM outbox WHERE dead_at IS NOT NULL`)) as {
      n: number;
    }[];
    return rows[0]?.n ?? 0;
  }
}

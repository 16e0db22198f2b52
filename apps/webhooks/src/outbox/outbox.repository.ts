import { uuidv7 } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';

export interface OutboxMessage {
  /** Also the event id, so a republished event is recognisably the same event. */
  id: string;
  topic: string;
  tenantId: string;
  taskId: string | null;
  payload: unknown;
}

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

export type NewOutboxMessage = Omit<OutboxMessage, 'id'>;

@Injectable()
export class OutboxRepository {
  /** One INSERT for many events: the dispatcher records a batch of attempts at a time. */
  async addMany(tx: Sql, messages: readonly NewOutboxMessage[]): Promise<OutboxMessage[]> {
    if (!messages.length) return [];
    const rows = messages.map((m) => ({ ...m, id: uuidv7() }));
    await tx.query(
      `INSERT INTO outbox (id, topic, tenant_id, task_id, payload)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[])`,
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

  /** Unpublished messages older than `olderThanMs`, oldest first, locked so instances split them. */
  async claimStale(tx: Sql, olderThanMs: number, limit: number): Promise<OutboxMessage[]> {
    const rows = await tx.query<OutboxRow[]>(
      `SELECT id, topic, tenant_id, task_id, payload FROM outbox
        WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY created_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [olderThanMs, limit],
    );
    return rows.map(toMessage);
  }
}

import { uuidv7 } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';

export interface OutboxMessage {
  /** Also the event id, so a republished event is recognisably the same event. */
  id: string;
  topic: string;
  tenantId: string;
  payload: unknown;
}

interface OutboxRow {
  id: string;
  topic: string;
  tenant_id: string;
  payload: unknown;
}

const toMessage = (r: OutboxRow): OutboxMessage => ({
  id: r.id,
  topic: r.topic,
  tenantId: r.tenant_id,
  payload: r.payload,
});

@Injectable()
export class OutboxRepository {
  async add(tx: Sql, topic: string, tenantId: string, payload: unknown): Promise<OutboxMessage> {
    const message = { id: uuidv7(), topic, tenantId, payload };
    await tx.query(`INSERT INTO outbox (id, topic, tenant_id, payload) VALUES ($1, $2, $3, $4)`, [
      message.id,
      topic,
      tenantId,
      JSON.stringify(payload),
    ]);
    return message;
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
    const rows = await tx.query<OutboxRow>(
      `SELECT id, topic, tenant_id, payload FROM outbox
        WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY created_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [olderThanMs, limit],
    );
    return rows.map(toMessage);
  }
}

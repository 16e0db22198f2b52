import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

export interface CheckpointRow {
  tenant_id: string;
  seq: string;
  record_hash: Buffer;
  signed_at: Date;
  key_id: string;
  signature: Buffer;
}

// Signed checkpoints of the chains, and which position of each chain was checkpointed last.
@Injectable()
export class CheckpointRepository {
  /** The heads of the chains that grew since their last checkpoint. */
  headsToCheckpoint(sql: Sql): Promise<{ tenant_id: string; last_seq: string; last_hash: Buffer }[]> {
    return sql.query(
      `SELECT tenant_id, last_seq, last_hash FROM chain_heads WHERE last_seq > checkpointed_seq ORDER BY tenant_id`,
    );
  }

  async insert(
    tx: Sql,
    c: { tenantId: string; seq: number; hash: Buffer; signedAt: string; keyId: string; signature: Buffer },
  ): Promise<void> {
    // Through the owner's function, which checks the record is stored with that hash and moves checkpointed_seq.
    await tx.execute(`SELECT add_checkpoint($1, $2, $3, $4, $5, $6)`, [
      c.tenantId,
      c.seq,
      c.hash,
      c.signedAt,
      c.keyId,
      c.signature,
    ]);
  }

  /** `tenantId` null: every tenant's. */
  list(sql: Sql, tenantId: string | null, fromSeq: number, limit: number): Promise<CheckpointRow[]> {
    return sql.query<CheckpointRow>(
      `SELECT tenant_id, seq, record_hash, signed_at, key_id, signature FROM checkpoints
        WHERE ($1::text IS NULL OR tenant_id = $1) AND seq >= $2
        ORDER BY tenant_id, seq LIMIT $3`,
      [tenantId, fromSeq, limit],
    );
  }

  between(
    sql: Sql,
    tenantId: string,
    fromSeq: number,
    toSeq: number,
  ): Promise<Omit<CheckpointRow, 'tenant_id'>[]> {
    return sql.query(
      `SELECT seq, record_hash, signed_at, key_id, signature FROM checkpoints
        WHERE tenant_id = $1 AND seq BETWEEN $2 AND $3`,
      [tenantId, fromSeq, toSeq],
    );
  }
}

import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

export interface ChainHeadRow {
  tenant_id: string;
  last_seq: string;
  last_hash: Buffer;
  /** When the chain's last record was recorded (null before the first): no append is recorded before it. */
  last_recorded_at: Date | null;
}

/** The columns of records appended in one statement, one array per column, index-aligned. */
export interface RecordColumns {
  tenant: string[];
  seq: number[];
  eventId: string[];
  type: string[];
  source: string[];
  taskId: (string | null)[];
  occurredAt: string[];
  route: (string | null)[];
  model: (string | null)[];
  status: (string | null)[];
  decision: (string | null)[];
  metadata: string[];
  content: string[];
  search: (string | null)[];
  prev: Buffer[];
  contentHash: Buffer[];
  recordHash: Buffer[];
}

/** A stored record as it is read back. */
export interface StoredRecordRow {
  tenant_id: string;
  seq: string;
  event_id: string;
  event_type: string;
  source: string;
  task_id: string | null;
  occurred_at: Date;
  recorded_at: Date;
  route: string | null;
  model: string | null;
  status: string | null;
  decision: string | null;
  content: string;
  prev_hash: Buffer;
  content_hash: Buffer;
  record_hash: Buffer;
}

// A stored record as the verifier rehashes it: its times as ISO 8601 text formatted by Postgres, since parsing a Date
// per row would cost more than hashing it.
export type ChainRecordRow = Omit<StoredRecordRow, 'tenant_id' | 'occurred_at' | 'recorded_at'> & {
  occurred_at: string;
  recorded_at: string;
};

export interface ChainStateRow {
  /** Null when the chain has no head row (never appended, or the row was removed). */
  last_seq: string | null;
  last_hash: Buffer | null;
  purged_through_seq: string | null;
  purged_through_hash: Buffer | null;
  last_purge_seq: string | null;
  /** The highest seq stored, whatever the head says. */
  last_stored_seq: string | null;
  /** The newest signed checkpoint of the chain. */
  checkpoint_seq: string | null;
  checkpoint_key_id: string | null;
  checkpoint_signed_at: Date | null;
}

/**
 * An append refused because the chain's head no longer continues its records: append_records' checks (a record that
 * does not extend the head, a head set back behind stored records), or on the unpartitioned table of an earlier
 * version the next seq already taken. Only a chain changed outside the service gets there.
 */
export function isChainRefusal(e: unknown): boolean {
  const { code, constraint } = (e ?? {}) as { code?: string; constraint?: string };
  return code === '23514' || (code === '23505' && constraint === 'records_pkey');
}

// The tenants' hash chains: their heads and their records (appended, purged by retention, read back to verify).
@Injectable()
export class ChainRepository {
  /** Creates the missing heads, then locks the tenants' heads, in tenant order, until the transaction ends. */
  lockHeads(tx: Sql, tenants: readonly string[]): Promise<ChainHeadRow[]> {
    // Through the owner's function: the writer role may not lock (nor update) chain_heads itself.
    return tx.query<ChainHeadRow>(
      `SELECT tenant_id, last_seq, last_hash, last_recorded_at FROM lock_chain_heads($1::text[])`,
      [tenants],
    );
  }

  /** Which of the (tenant, event) pairs are stored already. */
  storedEvents(
    tx: Sql,
    events: readonly { tenantId: string; eventId: string }[],
  ): Promise<{ tenant_id: string; event_id: string }[]> {
    return tx.query<{ tenant_id: string; event_id: string }>(
      // One index probe per event (per partition): a lateral subquery with LIMIT is planned as that nested loop,
      // never as a scan and sort of the partitions, which the planner chose on freshly grown ones.
      `SELECT e.tenant_id, e.event_id FROM unnest($1::text[], $2::text[]) AS e(tenant_id, event_id)
         CROSS JOIN LATERAL (
           SELECT 1 FROM records r WHERE r.tenant_id = e.tenant_id AND r.event_id = e.event_id LIMIT 1
         ) stored`,
      [events.map((e) => e.tenantId), events.map((e) => e.eventId)],
    );
  }

  /**
   * Inserts the records and advances their heads through the owner's function, which refuses records that do not
   * continue their chain's head.
   */
  async appendRecords(tx: Sql, columns: RecordColumns, recordedAt: Date): Promise<void> {
    await tx.execute(
      `SELECT append_records($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                             $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[],
                             $13::text[], $14::text[], $15::bytea[], $16::bytea[], $17::bytea[], $18::timestamptz)`,
      [
        columns.tenant,
        columns.seq,
        columns.eventId,
        columns.type,
        columns.source,
        columns.taskId,
        columns.occurredAt,
        columns.route,
        columns.model,
        columns.status,
        columns.decision,
        columns.metadata,
        columns.content,
        columns.search,
        columns.prev,
        columns.contentHash,
        columns.recordHash,
        recordedAt,
      ],
    );
  }

  /** The records ever appended to every chain: the sum of the heads' last seq (purged records included). */
  async totalLength(sql: Sql): Promise<number> {
    const rows = await sql.query<{ length: string }>(
      `SELECT COALESCE(SUM(last_seq), 0)::text AS length FROM chain_heads`,
    );
    return Number(rows[0]?.length ?? 0);
  }

  async tenants(sql: Sql): Promise<string[]> {
    const rows = await sql.query<{ tenant_id: string }>(
      `SELECT tenant_id FROM chain_heads ORDER BY tenant_id`,
    );
    return rows.map((r) => r.tenant_id);
  }

  /** Removes the tenant's records older than `cutoff` through the database function that alone may delete them. */
  purgeExpired(
    tx: Sql,
    tenantId: string,
    cutoff: Date,
  ): Promise<{ purged: string; through_seq: string; through_hash: Buffer | null }> {
    return tx.one(`SELECT purged, through_seq, through_hash FROM purge_expired($1, $2)`, [tenantId, cutoff]);
  }

  /** Points the chain's head at the record of its last purge (a purge record, checked by the function). */
  async markPurgeRecorded(tx: Sql, tenantId: string, seq: number): Promise<void> {
    await tx.execute(`SELECT mark_purge_recorded($1, $2)`, [tenantId, seq]);
  }

  /**
   * The chain's head, its highest stored seq and its newest checkpoint, read in one statement (one snapshot): an
   * append commits its records and its head together, so an honest chain never shows records past its head here.
   */
  state(sql: Sql, tenantId: string): Promise<ChainStateRow> {
    return sql.one<ChainStateRow>(
      `SELECT h.last_seq, h.last_hash, h.purged_through_seq, h.purged_through_hash, h.last_purge_seq,
              (SELECT max(r.seq) FROM records r WHERE r.tenant_id = $1) AS last_stored_seq,
              c.seq AS checkpoint_seq, c.key_id AS checkpoint_key_id, c.signed_at AS checkpoint_signed_at
         FROM (SELECT $1::text AS tenant_id) t
         LEFT JOIN chain_heads h ON h.tenant_id = t.tenant_id
         LEFT JOIN LATERAL (
           SELECT seq, key_id, signed_at FROM checkpoints WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1
         ) c ON true`,
      [tenantId],
    );
  }

  async recordHashAt(sql: Sql, tenantId: string, seq: number): Promise<Buffer | undefined> {
    const row = await sql.maybe<{ record_hash: Buffer }>(
      `SELECT record_hash FROM records WHERE tenant_id = $1 AND seq = $2`,
      [tenantId, seq],
    );
    return row?.record_hash;
  }

  recordAt(
    sql: Sql,
    tenantId: string,
    seq: string,
  ): Promise<{ event_id: string; event_type: string; content: string } | undefined> {
    return sql.maybe(`SELECT event_id, event_type, content FROM records WHERE tenant_id = $1 AND seq = $2`, [
      tenantId,
      seq,
    ]);
  }

  /** The records with fromSeq <= seq < toSeqExclusive, in seq order. */
  records(sql: Sql, tenantId: string, fromSeq: number, toSeqExclusive: number): Promise<ChainRecordRow[]> {
    return sql.query<ChainRecordRow>(
      `SELECT seq, event_id, event_type, source, task_id,
              to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
              to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at,
              route, model, status, decision, content, prev_hash, content_hash, record_hash
         FROM records WHERE tenant_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq`,
      [tenantId, fromSeq, toSeqExclusive],
    );
  }
}

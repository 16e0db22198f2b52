import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { contentHash, recordHash } from './record-hash';

/** A record ready to be chained: its stored content and columns are final (redacted, encrypted). */
export interface PreparedRecord {
  tenantId: string;
  eventId: string;
  type: string;
  source: string;
  taskId: string | null;
  occurredAt: Date;
  route: string | null;
  model: string | null;
  status: string | null;
  decision: string | null;
  metadata: Record<string, unknown>;
  content: string;
  /** Redacted free text for full-text search; null when there is none (or it is encrypted). */
  searchText: string | null;
}

export interface AppendedRecord {
  tenantId: string;
  seq: number;
  eventId: string;
  recordHash: Buffer;
}

/** Longest text indexed for search per record; Postgres refuses a tsvector over 1 MB. */
const SEARCH_TEXT_MAX_CHARS = 100_000;

// Appends to the tenants' chains inside the caller's transaction. Each involved chain head is locked (in tenant
// order, so two appenders cannot deadlock) for the rest of the transaction: appends to one chain are serialised
// across every instance, and an event already stored is skipped before it takes a sequence number.
@Injectable()
export class RecordAppender {
  async append(tx: PoolClient, records: readonly PreparedRecord[]): Promise<AppendedRecord[]> {
    if (records.length === 0) return [];
    const tenants = [...new Set(records.map((r) => r.tenantId))].sort();
    await tx.query(`INSERT INTO chain_heads (tenant_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [
      tenants,
    ]);
    const heads = await tx.query<{ tenant_id: string; last_seq: string; last_hash: Buffer }>(
      `SELECT tenant_id, last_seq, last_hash FROM chain_heads WHERE tenant_id = ANY($1) ORDER BY tenant_id FOR UPDATE`,
      [tenants],
    );
    const existing = await tx.query<{ tenant_id: string; event_id: string }>(
      `SELECT r.tenant_id, r.event_id FROM records r
         JOIN unnest($1::text[], $2::text[]) AS e(tenant_id, event_id)
           ON r.tenant_id = e.tenant_id AND r.event_id = e.event_id`,
      [records.map((r) => r.tenantId), records.map((r) => r.eventId)],
    );
    const seen = new Set(existing.rows.map((r) => `${r.tenant_id}\u0000${r.event_id}`));
    const chain = new Map(
      heads.rows.map((h) => [h.tenant_id, { seq: Number(h.last_seq), hash: h.last_hash }]),
    );

    const recordedAt = new Date();
    const columns = {
      tenant: [] as string[],
      seq: [] as number[],
      eventId: [] as string[],
      type: [] as string[],
      source: [] as string[],
      taskId: [] as (string | null)[],
      occurredAt: [] as string[],
      route: [] as (string | null)[],
      model: [] as (string | null)[],
      status: [] as (string | null)[],
      decision: [] as (string | null)[],
      metadata: [] as string[],
      content: [] as string[],
      search: [] as (string | null)[],
      prev: [] as Buffer[],
      contentHash: [] as Buffer[],
      recordHash: [] as Buffer[],
    };
    const appended: AppendedRecord[] = [];
    for (const r of records) {
      const key = `${r.tenantId}\u0000${r.eventId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const head = chain.get(r.tenantId)!;
      const seq = head.seq + 1;
      const occurredAt = new Date(r.occurredAt.getTime());
      const ch = contentHash({ ...r, seq, occurredAt, recordedAt });
      const rh = recordHash(head.hash, ch);
      columns.tenant.push(r.tenantId);
      columns.seq.push(seq);
      columns.eventId.push(r.eventId);
      columns.type.push(r.type);
      columns.source.push(r.source);
      columns.taskId.push(r.taskId);
      columns.occurredAt.push(occurredAt.toISOString());
      columns.route.push(r.route);
      columns.model.push(r.model);
      columns.status.push(r.status);
      columns.decision.push(r.decision);
      columns.metadata.push(JSON.stringify(r.metadata));
      columns.content.push(r.content);
      columns.search.push(r.searchText ? r.searchText.slice(0, SEARCH_TEXT_MAX_CHARS) : null);
      columns.prev.push(head.hash);
      columns.contentHash.push(ch);
      columns.recordHash.push(rh);
      chain.set(r.tenantId, { seq, hash: rh });
      appended.push({ tenantId: r.tenantId, seq, eventId: r.eventId, recordHash: rh });
    }
    if (appended.length === 0) return [];

    await tx.query(
      `INSERT INTO records (tenant_id, seq, event_id, event_type, source, task_id, occurred_at, recorded_at, route, model,
                            status, decision, metadata, content, search, prev_hash, content_hash, record_hash)
       SELECT t.tenant_id, t.seq, t.event_id, t.event_type, t.source, t.task_id, t.occurred_at, $18, t.route, t.model,
              t.status, t.decision, t.metadata, t.content,
              CASE WHEN t.search IS NULL THEN NULL ELSE to_tsvector('simple', t.search) END,
              t.prev_hash, t.content_hash, t.record_hash
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::timestamptz[],
                     $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::text[], $14::text[],
                     $15::bytea[], $16::bytea[], $17::bytea[])
           AS t(tenant_id, seq, event_id, event_type, source, task_id, occurred_at, route, model, status, decision,
                metadata, content, search, prev_hash, content_hash, record_hash)`,
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
    const touched = [...new Set(appended.map((a) => a.tenantId))];
    await tx.query(
      `UPDATE chain_heads h SET last_seq = t.seq, last_hash = t.hash, updated_at = now()
         FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS t(tenant_id, seq, hash)
        WHERE h.tenant_id = t.tenant_id`,
      [touched, touched.map((t) => chain.get(t)!.seq), touched.map((t) => chain.get(t)!.hash)],
    );
    return appended;
  }
}

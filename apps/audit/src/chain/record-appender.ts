import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import { ChainRepository, type RecordColumns } from './chain.repository';
import { contentHash, recordHash } from '@deliberate/audit-chain';

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
  /** The event's time, in epoch ms. */
  occurredAtMs: number;
}

/** Longest text indexed for search per record; Postgres refuses a tsvector over 1 MB. */
const SEARCH_TEXT_MAX_CHARS = 100_000;

// Appends to the tenants' chains inside the caller's transaction. Each involved chain head is locked (in tenant
// order, so two appenders cannot deadlock) for the rest of the transaction: appends to one chain are serialised
// across every instance, and an event already stored is skipped before it takes a sequence number. A chain's
// recording time never goes back (a clock behind another instance's takes the chain's last time), so each time
// partition of the records table holds a seq prefix of every chain in it.
@Injectable()
export class RecordAppender {
  constructor(private readonly chains: ChainRepository = new ChainRepository()) {}

  /** `now`: the clock's reading, each record's recording time unless its chain's last record is later. */
  async append(tx: Sql, records: readonly PreparedRecord[], now = new Date()): Promise<AppendedRecord[]> {
    if (records.length === 0) return [];
    const tenants = [...new Set(records.map((r) => r.tenantId))].sort();
    const heads = await this.chains.lockHeads(tx, tenants);
    const existing = await this.chains.storedEvents(tx, records);
    const seen = new Set(existing.map((r) => `${r.tenant_id}\u0000${r.event_id}`));
    const chain = new Map(
      heads.map((h) => [
        h.tenant_id,
        {
          seq: Number(h.last_seq),
          hash: h.last_hash,
          recordedAtMs: Math.max(now.getTime(), h.last_recorded_at?.getTime() ?? 0),
        },
      ]),
    );

    // One append per recording time: normally one for the whole batch; a chain behind a later clock gets its own,
    // so that the chains written beside it keep the clock's time.
    const batches = new Map<number, RecordColumns>();
    const appended: AppendedRecord[] = [];
    for (const r of records) {
      const key = `${r.tenantId}\u0000${r.eventId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const head = chain.get(r.tenantId)!;
      const seq = head.seq + 1;
      const occurredAt = new Date(r.occurredAt.getTime());
      const recordedAt = new Date(head.recordedAtMs);
      const ch = contentHash({ ...r, seq, occurredAt, recordedAt });
      const rh = recordHash(head.hash, ch);
      let columns = batches.get(head.recordedAtMs);
      if (!columns) batches.set(head.recordedAtMs, (columns = emptyColumns()));
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
      chain.set(r.tenantId, { ...head, seq, hash: rh });
      appended.push({
        tenantId: r.tenantId,
        seq,
        eventId: r.eventId,
        recordHash: rh,
        occurredAtMs: occurredAt.getTime(),
      });
    }
    for (const [recordedAtMs, columns] of batches) {
      await this.chains.appendRecords(tx, columns, new Date(recordedAtMs));
    }
    return appended;
  }
}

function emptyColumns(): RecordColumns {
  return {
    tenant: [],
    seq: [],
    eventId: [],
    type: [],
    source: [],
    taskId: [],
    occurredAt: [],
    route: [],
    model: [],
    status: [],
    decision: [],
    metadata: [],
    content: [],
    search: [],
    prev: [],
    contentHash: [],
    recordHash: [],
  };
}

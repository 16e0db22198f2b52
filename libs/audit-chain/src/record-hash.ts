import { createHash } from 'node:crypto';

/** The predecessor hash of a chain's first record. */
export const GENESIS_HASH = Buffer.alloc(32);

/** What a record's content hash covers: its indexed columns and its stored content, as they are stored. */
export interface HashedRecord {
  tenantId: string;
  seq: number;
  eventId: string;
  type: string;
  taskId: string | null;
  /** A Date, or its ISO 8601 form (millisecond precision, `Z`) as the verifier reads it from SQL. */
  occurredAt: Date | string;
  recordedAt: Date | string;
  source: string;
  route: string | null;
  model: string | null;
  status: string | null;
  decision: string | null;
  /** Canonical JSON of the stored content (redacted, and encrypted where configured). */
  content: string;
}

const iso = (t: Date | string) => (typeof t === 'string' ? t : t.toISOString());

// The indexed columns as one JSON array line, then the content: the columns the API filters on cannot change
// without the hash changing, no field can bleed into the next, and verifying needs no JSON parsing.
export function contentHash(r: HashedRecord): Buffer {
  const columns = JSON.stringify([
    'v1',
    r.tenantId,
    r.seq,
    r.eventId,
    r.type,
    r.taskId,
    iso(r.occurredAt),
    iso(r.recordedAt),
    r.source,
    r.route,
    r.model,
    r.status,
    r.decision,
  ]);
  return createHash('sha256').update(columns).update('\n').update(r.content).digest();
}

/** A record's link: the hash of its predecessor's link and its own content hash. */
export function recordHash(prevHash: Buffer, contentHashValue: Buffer): Buffer {
  return createHash('sha256').update(prevHash).update(contentHashValue).digest();
}

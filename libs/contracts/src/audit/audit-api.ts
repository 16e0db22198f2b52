import type { BrokenLinkReason, HeadMismatchReason } from './audit-http.dto';

// What the audit API answers (/v1/audit/*, behind the gateway): written by the audit service, read by the console
// and the CLI. Types only: the answers are the service's own, nothing parses them on the way.

/** One record as an auditor reads it: the event's data decrypted, with its place in the chain. */
export interface AuditRecordView {
  tenantId: string;
  seq: number;
  eventId: string;
  type: string;
  source: string;
  taskId: string | null;
  occurredAt: string;
  recordedAt: string;
  route: string | null;
  model: string | null;
  status: string | null;
  decision: string | null;
  data: unknown;
  prevHash: string;
  contentHash: string;
  recordHash: string;
}

/**
 * One line of a JSON Lines export: the record as read, and, when `data` is not what was hashed (a tenant whose content
 * is encrypted reads it decrypted), `storedContent`: the canonical JSON of the stored content, the exact text the
 * content hash covers, so an export verifies offline (`deliberate audit verify-export`) without the tenant's key.
 */
export interface AuditExportLine extends AuditRecordView {
  storedContent?: string;
}

/** GET /v1/audit/tasks/{taskId}: a task's records, oldest first. */
export interface AuditTimeline {
  taskId: string;
  tenantId: string;
  entries: AuditRecordView[];
}

/** GET /v1/audit/events: one page of a search. */
export interface AuditPage {
  items: AuditRecordView[];
  nextCursor: string | null;
}

/** Where the walk of a chain stopped. */
export interface BrokenLink {
  seq: number;
  eventId: string | null;
  reason: BrokenLinkReason;
  expected: string;
  found: string;
  detail: string;
  /** The key of the checkpoint at `seq`, for a checkpoint's failure; null otherwise. */
  keyId: string | null;
}

/** The chain head (chain_heads) disagrees with the stored records or the newest signed checkpoint. */
export interface HeadMismatch {
  // head_rewound: records or a signed checkpoint lie past the head; head_hash_mismatch: the head's hash is not the
  // record hash at its seq.
  reason: HeadMismatchReason;
  headSeq: number;
  lastStoredSeq: number;
  checkpointSeq: number | null;
  expected: string;
  found: string;
  detail: string;
}

/** GET /v1/audit/verify. */
export interface VerifyReport {
  tenantId: string;
  ok: boolean;
  /** Records whose hashes were recomputed. */
  checked: number;
  checkpointsChecked: number;
  fromSeq: number;
  toSeq: number;
  headSeq: number;
  /** The highest seq stored, whatever the head says. */
  lastStoredSeq: number;
  /** Records up to here were removed by retention (each purge is itself a record in the chain). */
  purgedThroughSeq: number;
  /** The newest signed checkpoint: the chain is walked at least to it, whatever the head says. */
  newestCheckpoint: { seq: number; keyId: string; at: string } | null;
  firstBrokenLink: BrokenLink | null;
  headMismatch: HeadMismatch | null;
  elapsedMs: number;
}

/** A signed checkpoint: a chain's position and the record hash there, with the key that signed it. */
export interface SignedCheckpoint {
  tenantId: string;
  seq: number;
  /** Hex SHA-256 record hash at `seq`. */
  recordHash: string;
  /** ISO 8601 signing time. */
  at: string;
  keyId: string;
  /** Base64 Ed25519 signature over the canonical JSON of {at, recordHash, seq, tenantId}. */
  signature: string;
}

/** A key a checkpoint may be signed by, with the period it was valid for. */
export interface CheckpointKey {
  keyId: string;
  publicKeyPem: string;
  notBefore: string | null;
  notAfter: string | null;
  current: boolean;
}

/** GET /v1/audit/checkpoints. */
export interface CheckpointList {
  algorithm: string;
  /** The key signing new checkpoints, and its public key (SPKI PEM). */
  keyId: string;
  publicKeyPem: string;
  signedPayload: string;
  keys: CheckpointKey[];
  checkpoints: SignedCheckpoint[];
}

// The audit API's answers (GET /v1/audit/*), as docs/openapi.json describes them.

export interface AuditRecord {
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

export interface AuditTimeline {
  taskId: string;
  tenantId: string;
  entries: AuditRecord[];
}

export interface AuditPage {
  items: AuditRecord[];
  nextCursor: string | null;
}

export interface VerifyReport {
  tenantId: string;
  ok: boolean;
  checked: number;
  checkpointsChecked: number;
  fromSeq: number;
  toSeq: number;
  headSeq: number;
  lastStoredSeq: number;
  purgedThroughSeq: number;
  newestCheckpoint: { seq: number; keyId: string; at: string } | null;
  firstBrokenLink: {
    seq: number;
    eventId: string | null;
    reason: string;
    expected?: string;
    found?: string;
    detail?: string;
    keyId?: string | null;
  } | null;
  headMismatch: { reason: string; detail?: string } | null;
}

export interface CheckpointList {
  algorithm: string;
  keyId: string;
  checkpoints: {
    tenantId: string;
    seq: number;
    recordHash: string;
    at: string;
    keyId: string;
    signature: string;
  }[];
}

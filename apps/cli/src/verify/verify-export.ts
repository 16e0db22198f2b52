import {
  canonicalJson,
  contentHash,
  GENESIS_HASH,
  keyIdOf,
  recordHash,
  statementBytes,
} from '@deliberate/audit-chain';
import type { CheckpointList } from '@deliberate/contracts';
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

// `audit verify-export`, offline: recomputes every record's content and record hash from a JSON Lines export
// (/v1/audit/export), checks each chain's links in seq order (the export is ordered by time, not seq), and checks
// each signed checkpoint (/v1/audit/checkpoints) against its key and against the record it signs. Every problem
// names the export line it is found at; the first in the file is the one to look at.

export interface ExportProblem {
  /** 1-based line of the export; null for a problem of the checkpoints file alone. */
  line: number | null;
  tenantId: string | null;
  seq: number | null;
  what: string;
  expected?: string;
  found?: string;
}

export interface ChainSummary {
  tenantId: string;
  fromSeq: number;
  toSeq: number;
  records: number;
  /** Signed checkpoints whose record is in the export and matches. */
  checkpointsMatched: number;
}

export interface VerifyExportReport {
  ok: boolean;
  records: number;
  chains: ChainSummary[];
  checkpointsChecked: number;
  /**
   * Whose keys the signatures were checked against: `pinned` (given out of band, --public-key), or `listed` (those
   * the checkpoints file itself names, which prove the two files agree, not who signed them).
   */
  keys: 'pinned' | 'listed';
  /** Every problem, in the order of the export's lines (the checkpoints file's own problems last). */
  problems: ExportProblem[];
}

export interface TrustedKey {
  keyId: string;
  publicKey: KeyObject;
  notBefore: Date | null;
  notAfter: Date | null;
}

interface Line {
  line: number;
  tenantId: string;
  seq: number;
  prevHash: string;
  contentHash: string;
  recordHash: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown) => v === null || typeof v === 'string';

function readLine(text: string, line: number, problems: ExportProblem[]): Line | null {
  let r: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    r = parsed as Record<string, unknown>;
  } catch (e) {
    problems.push({ line, tenantId: null, seq: null, what: `not a JSON object (${(e as Error).message})` });
    return null;
  }
  const tenantId = isString(r['tenantId']) ? r['tenantId'] : null;
  const seq = Number.isSafeInteger(r['seq']) && (r['seq'] as number) > 0 ? (r['seq'] as number) : null;
  const bad: string[] = [];
  if (tenantId === null) bad.push('tenantId');
  if (seq === null) bad.push('seq');
  for (const k of ['eventId', 'type', 'source', 'occurredAt', 'recordedAt']) if (!isString(r[k])) bad.push(k);
  for (const k of ['taskId', 'route', 'model', 'status', 'decision'])
    if (!isNullableString(r[k])) bad.push(k);
  for (const k of ['prevHash', 'contentHash', 'recordHash'])
    if (!isString(r[k]) || !HEX64.test(r[k])) bad.push(`${k} (hex SHA-256)`);
  if (r['storedContent'] !== undefined && !isString(r['storedContent'])) bad.push('storedContent');
  if (!('data' in r) && r['storedContent'] === undefined) bad.push('data');
  if (bad.length > 0 || tenantId === null || seq === null) {
    problems.push({
      line,
      tenantId,
      seq,
      what: `not an audit export record: missing or bad ${bad.join(', ')}`,
    });
    return null;
  }
  const stated = { prevHash: r['prevHash'] as string, contentHash: r['contentHash'] as string };
  // The stored content is what was hashed: the line's own copy when it carries one (encrypted tenants), else the
  // canonical JSON of its data.
  const content = isString(r['storedContent']) ? r['storedContent'] : canonicalJson(r['data']);
  const recomputed = contentHash({
    tenantId,
    seq,
    eventId: r['eventId'] as string,
    type: r['type'] as string,
    taskId: r['taskId'] as string | null,
    occurredAt: r['occurredAt'] as string,
    recordedAt: r['recordedAt'] as string,
    source: r['source'] as string,
    route: r['route'] as string | null,
    model: r['model'] as string | null,
    status: r['status'] as string | null,
    decision: r['decision'] as string | null,
    content,
  }).toString('hex');
  if (recomputed !== stated.contentHash) {
    problems.push({
      line,
      tenantId,
      seq,
      what: 'content hash: the record no longer hashes to its contentHash (a column or its data was changed)',
      expected: recomputed,
      found: stated.contentHash,
    });
  }
  const linked = recordHash(Buffer.from(stated.prevHash, 'hex'), Buffer.from(recomputed, 'hex')).toString(
    'hex',
  );
  if (linked !== r['recordHash']) {
    problems.push({
      line,
      tenantId,
      seq,
      what: 'record hash: not the hash of prevHash and the recomputed content hash',
      expected: linked,
      found: r['recordHash'] as string,
    });
  }
  return {
    line,
    tenantId,
    seq,
    prevHash: stated.prevHash,
    contentHash: recomputed,
    recordHash: r['recordHash'] as string,
  };
}

function checkLinks(records: Line[], problems: ExportProblem[]): void {
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  let previous: Line | null = null;
  for (const r of sorted) {
    const at = { line: r.line, tenantId: r.tenantId, seq: r.seq };
    if (previous && r.seq === previous.seq) {
      problems.push({ ...at, what: `seq ${r.seq} appears twice (also at line ${previous.line})` });
      continue;
    }
    if (previous && r.seq !== previous.seq + 1) {
      const missing =
        r.seq === previous.seq + 2
          ? `seq ${previous.seq + 1} is`
          : `seqs ${previous.seq + 1} to ${r.seq - 1} are`;
      problems.push({ ...at, what: `a gap in the chain: ${missing} missing before this record` });
    } else if (previous && r.prevHash !== previous.recordHash) {
      problems.push({
        ...at,
        what: `link: prevHash is not the record hash of seq ${previous.seq} (line ${previous.line})`,
        expected: previous.recordHash,
        found: r.prevHash,
      });
    } else if (!previous && r.seq === 1 && r.prevHash !== GENESIS_HASH.toString('hex')) {
      problems.push({
        ...at,
        what: "link: the chain's first record must follow the genesis hash (zeros)",
        expected: GENESIS_HASH.toString('hex'),
        found: r.prevHash,
      });
    }
    previous = r;
  }
}

// A checkpoints file is the answer of /v1/audit/checkpoints, kept: only its keys and checkpoints are read.
type CheckpointsFile = Pick<CheckpointList, 'keys' | 'checkpoints'>;

/** The keys a checkpoints file lists (`keys`, or the single `keyId`/`publicKeyPem` of an older file). */
export function keysOfCheckpointsFile(
  file: CheckpointsFile & { keyId?: string; publicKeyPem?: string },
  problems: ExportProblem[],
): TrustedKey[] {
  const listed =
    file.keys.length > 0
      ? file.keys
      : file.keyId && file.publicKeyPem
        ? [{ keyId: file.keyId, publicKeyPem: file.publicKeyPem, notBefore: null, notAfter: null }]
        : [];
  const keys: TrustedKey[] = [];
  for (const k of listed) {
    try {
      const publicKey = createPublicKey(k.publicKeyPem);
      const derived = keyIdOf(publicKey);
      if (derived !== k.keyId) throw new Error(`it is listed as ${k.keyId} but its id is ${derived}`);
      keys.push({
        keyId: derived,
        publicKey,
        notBefore: k.notBefore ? new Date(k.notBefore) : null,
        notAfter: k.notAfter ? new Date(k.notAfter) : null,
      });
    } catch (e) {
      problems.push({
        line: null,
        tenantId: null,
        seq: null,
        what: `checkpoints file: key ${k.keyId} is unusable: ${(e as Error).message}`,
      });
    }
  }
  return keys;
}

export function parseCheckpointsFile(
  text: string,
  problems: ExportProblem[],
): (CheckpointsFile & { keyId?: string; publicKeyPem?: string }) | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    problems.push({
      line: null,
      tenantId: null,
      seq: null,
      what: `checkpoints file: not JSON (${(e as Error).message})`,
    });
    return null;
  }
  const f = parsed as Partial<CheckpointsFile> & { keyId?: unknown; publicKeyPem?: unknown };
  if (typeof f !== 'object' || f === null || !Array.isArray(f.checkpoints)) {
    problems.push({
      line: null,
      tenantId: null,
      seq: null,
      what: 'checkpoints file: needs a "checkpoints" array, as /v1/audit/checkpoints answers',
    });
    return null;
  }
  return {
    keys: Array.isArray(f.keys) ? f.keys : [],
    checkpoints: f.checkpoints,
    ...(isString(f.keyId) ? { keyId: f.keyId } : {}),
    ...(isString(f.publicKeyPem) ? { publicKeyPem: f.publicKeyPem } : {}),
  };
}

const nameOf = (c: { tenantId: string; seq: number }) => `checkpoint of chain ${c.tenantId} at seq ${c.seq}`;

/**
 * Verifies an export against a checkpoints file. `trustedKeys`, when given, are the only keys a checkpoint may be
 * signed with (keys pinned out of band); otherwise the keys the checkpoints file lists are used.
 */
export function verifyExport(
  exportText: string,
  checkpointsText: string,
  trustedKeys?: TrustedKey[],
): VerifyExportReport {
  const problems: ExportProblem[] = [];
  const byChain = new Map<string, Line[]>();
  const at = new Map<string, Line>();
  let records = 0;
  const lines = exportText.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const text = lines[i]!.replace(/\r$/, '');
    if (text.trim() === '') continue;
    const r = readLine(text, i + 1, problems);
    if (!r) continue;
    records += 1;
    const chain = byChain.get(r.tenantId) ?? [];
    chain.push(r);
    byChain.set(r.tenantId, chain);
    if (!at.has(`${r.tenantId}\n${r.seq}`)) at.set(`${r.tenantId}\n${r.seq}`, r);
  }
  for (const chain of byChain.values()) checkLinks(chain, problems);

  const matched = new Map<string, number>();
  let checkpointsChecked = 0;
  const file = parseCheckpointsFile(checkpointsText, problems);
  if (file) {
    const keys = trustedKeys ?? keysOfCheckpointsFile(file, problems);
    const byId = new Map(keys.map((k) => [k.keyId, k]));
    const source = trustedKeys ? 'the keys given with --public-key' : 'the keys of the checkpoints file';
    for (const c of file.checkpoints) {
      checkpointsChecked += 1;
      if (
        !isString(c?.tenantId) ||
        !Number.isSafeInteger(c.seq) ||
        !isString(c.recordHash) ||
        !isString(c.at) ||
        !isString(c.keyId) ||
        !isString(c.signature)
      ) {
        problems.push({
          line: null,
          tenantId: null,
          seq: null,
          what: `checkpoints file: checkpoint ${checkpointsChecked} lacks tenantId, seq, recordHash, at, keyId or signature`,
        });
        continue;
      }
      const record = at.get(`${c.tenantId}\n${c.seq}`);
      const where = { line: record?.line ?? null, tenantId: c.tenantId, seq: c.seq };
      const key = byId.get(c.keyId);
      if (!key) {
        problems.push({
          ...where,
          what: `${nameOf(c)} is signed by key ${c.keyId}, which is not among ${source}`,
        });
        continue;
      }
      const signedAt = new Date(c.at);
      if ((key.notBefore && signedAt < key.notBefore) || (key.notAfter && signedAt > key.notAfter)) {
        problems.push({
          ...where,
          what: `${nameOf(c)} was signed at ${c.at}, outside the validity of key ${c.keyId}`,
        });
        continue;
      }
      if (!verify(null, statementBytes(c), key.publicKey, Buffer.from(c.signature, 'base64'))) {
        problems.push({
          ...where,
          what: `${nameOf(c)}: the signature does not verify with key ${c.keyId}`,
        });
        continue;
      }
      if (!record) continue;
      if (record.recordHash !== c.recordHash) {
        problems.push({
          ...where,
          what: `record hash differs from the signed ${nameOf(c)}`,
          expected: c.recordHash,
          found: record.recordHash,
        });
        continue;
      }
      matched.set(c.tenantId, (matched.get(c.tenantId) ?? 0) + 1);
    }
  }
  problems.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  const chains = [...byChain.entries()]
    .map(([tenantId, rs]) => ({
      tenantId,
      // A fold, not Math.min(...seqs): a chain of a long period has more records than a call takes arguments.
      fromSeq: rs.reduce((min, r) => Math.min(min, r.seq), Number.POSITIVE_INFINITY),
      toSeq: rs.reduce((max, r) => Math.max(max, r.seq), Number.NEGATIVE_INFINITY),
      records: rs.length,
      checkpointsMatched: matched.get(tenantId) ?? 0,
    }))
    .sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  const keys = trustedKeys ? 'pinned' : 'listed';
  return { ok: problems.length === 0, records, chains, checkpointsChecked, keys, problems };
}

/** Parses pinned public keys (SPKI PEM); throws naming the bad one. */
export function trustedKey(pem: string, name: string): TrustedKey {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem);
  } catch (e) {
    throw new Error(`${name}: not a public key (${(e as Error).message})`);
  }
  if (publicKey.asymmetricKeyType !== 'ed25519')
    throw new Error(`${name}: an Ed25519 key is required, not ${publicKey.asymmetricKeyType}`);
  return { keyId: keyIdOf(publicKey), publicKey, notBefore: null, notAfter: null };
}

/** The report as a person reads it. */
export function formatVerifyReport(r: VerifyExportReport): string {
  const out: string[] = [];
  const first = r.problems[0];
  if (first) {
    const place = [
      first.line !== null ? `line ${first.line}` : 'checkpoints file',
      first.tenantId !== null ? `chain ${first.tenantId}` : null,
      first.seq !== null ? `seq ${first.seq}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    out.push(`FAILED at ${place}: ${first.what}`);
    if (first.expected !== undefined) out.push(`  expected ${first.expected}`, `  found    ${first.found}`);
    if (r.problems.length > 1)
      out.push(`${r.problems.length - 1} more problem(s) after it (--json lists them all)`);
  } else {
    out.push(
      `OK: ${r.records} records in ${r.chains.length} chain(s), ${r.checkpointsChecked} checkpoint(s) checked`,
    );
  }
  for (const c of r.chains) {
    const signed =
      c.checkpointsMatched > 0
        ? `${c.checkpointsMatched} signed checkpoint(s) matched`
        : 'no signed checkpoint in range: a rewrite of the whole range would go unseen';
    out.push(`  chain ${c.tenantId}: seq ${c.fromSeq}-${c.toSeq}, ${c.records} records, ${signed}`);
  }
  if (r.keys === 'listed')
    out.push(
      'signing keys not pinned: checked against the keys the checkpoints file lists; ' +
        "pin the deployment's public key with --public-key for an independent check",
    );
  return out.join('\n');
}

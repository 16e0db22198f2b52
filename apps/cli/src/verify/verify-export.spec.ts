import {
  canonicalJson,
  contentHash,
  GENESIS_HASH,
  type HashedRecord,
  keyIdOf,
  recordHash,
  statementBytes,
} from '@deliberate/audit-chain';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { formatVerifyReport, trustedKey, verifyExport } from './verify-export';

// Exports and checkpoints built the way the audit service builds them, with the shared hashing of libs/audit-chain.

interface Key {
  privateKey: KeyObject;
  keyId: string;
  publicKeyPem: string;
}

function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function chain(tenantId: string, count: number, start = new Date('2026-11-26T10:00:00.000Z').getTime()) {
  let prev: Buffer = GENESIS_HASH;
  const out: Record<string, unknown>[] = [];
  for (let seq = 1; seq <= count; seq += 1) {
    const at = new Date(start + seq * 1000).toISOString();
    const data = { answer: `answer ${seq}`, nested: { b: 2, a: [1, null] } };
    const columns = {
      tenantId,
      seq,
      eventId: `${tenantId}-e${seq}`,
      type: 'tasks.task.completed.v1',
      source: 'deliberate/reasoner',
      taskId: null,
      occurredAt: at,
      recordedAt: at,
      route: 'fast',
      model: 'sim',
      status: 'completed',
      decision: null,
    };
    const ch = contentHash({ ...columns, content: canonicalJson(data) });
    const rh = recordHash(prev, ch);
    out.push({
      ...columns,
      data,
      prevHash: prev.toString('hex'),
      contentHash: ch.toString('hex'),
      recordHash: rh.toString('hex'),
    });
    prev = rh;
  }
  return out;
}

function checkpoint(record: Record<string, unknown>, key: Key, signWith: KeyObject = key.privateKey) {
  const statement = {
    tenantId: record['tenantId'] as string,
    seq: record['seq'] as number,
    recordHash: record['recordHash'] as string,
    at: '2026-11-26T11:00:00.000Z',
  };
  return {
    ...statement,
    keyId: key.keyId,
    signature: sign(null, statementBytes(statement), signWith).toString('base64'),
  };
}

const jsonl = (records: Record<string, unknown>[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

function checkpointsFile(key: Key, checkpoints: unknown[]) {
  return JSON.stringify({
    algorithm: 'Ed25519',
    keyId: key.keyId,
    publicKeyPem: key.publicKeyPem,
    keys: [
      { keyId: key.keyId, publicKeyPem: key.publicKeyPem, notBefore: null, notAfter: null, current: true },
    ],
    checkpoints,
  });
}

const key = newKey();
// Two chains interleaved by time, as the export orders them.
const acme = chain('acme', 5);
const globex = chain('globex', 3, new Date('2026-11-26T10:00:00.500Z').getTime());
const interleaved = [acme[0]!, globex[0]!, acme[1]!, globex[1]!, acme[2]!, globex[2]!, acme[3]!, acme[4]!];
const goodCheckpoints = checkpointsFile(key, [
  checkpoint(acme[2]!, key),
  checkpoint(acme[4]!, key),
  checkpoint(globex[2]!, key),
]);

describe('audit verify-export', () => {
  it('verifies an intact export of two interleaved chains and their checkpoints', () => {
    const report = verifyExport(jsonl(interleaved), goodCheckpoints);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.records).toBe(8);
    expect(report.checkpointsChecked).toBe(3);
    expect(report.chains).toEqual([
      { tenantId: 'acme', fromSeq: 1, toSeq: 5, records: 5, checkpointsMatched: 2 },
      { tenantId: 'globex', fromSeq: 1, toSeq: 3, records: 3, checkpointsMatched: 1 },
    ]);
    expect(formatVerifyReport(report)).toMatch(/^OK: 8 records in 2 chain\(s\), 3 checkpoint\(s\) checked/);
  });

  it('names the line, chain and seq of a changed record, with both hashes', () => {
    const changed = interleaved.map((r, i) =>
      i === 4 ? { ...r, data: { answer: 'forged', nested: { a: [1, null], b: 2 } } } : r,
    );
    const report = verifyExport(jsonl(changed), goodCheckpoints);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({
      line: 5,
      tenantId: 'acme',
      seq: 3,
      found: acme[2]!['contentHash'],
    });
    expect(report.problems[0]!.what).toMatch(/^content hash/);
    expect(formatVerifyReport(report)).toMatch(/^FAILED at line 5, chain acme, seq 3: content hash/);
  });

  it('catches a changed indexed column though the data is intact', () => {
    const changed = interleaved.map((r, i) => (i === 1 ? { ...r, status: 'failed' } : r));
    expect(verifyExport(jsonl(changed), goodCheckpoints).problems[0]).toMatchObject({
      line: 2,
      tenantId: 'globex',
      seq: 1,
    });
  });

  it('names the gap a removed line leaves, at the record after it', () => {
    const removed = interleaved.filter((_, i) => i !== 2); // acme seq 2
    const report = verifyExport(jsonl(removed), goodCheckpoints);
    expect(report.problems).toEqual([
      { line: 4, tenantId: 'acme', seq: 3, what: 'a gap in the chain: seq 2 is missing before this record' },
    ]);
  });

  it('verifies lines in any order (the export orders by time, the chain by seq), but not swapped seqs', () => {
    expect(verifyExport(jsonl([...interleaved].reverse()), goodCheckpoints).ok).toBe(true);
    const swapped = interleaved.map((r, i) => (i === 0 ? { ...r, seq: 2 } : i === 2 ? { ...r, seq: 1 } : r));
    const report = verifyExport(jsonl(swapped), goodCheckpoints);
    expect(report.problems[0]).toMatchObject({ line: 1, tenantId: 'acme', seq: 2 });
    expect(report.problems[0]!.what).toMatch(/^content hash/);
  });

  it('catches a chain rewritten with every hash recomputed, by its signed checkpoint', () => {
    const forged = chain('acme', 5).map((r) => r);
    // Same shape, different content: recompute from seq 1 with other data.
    let prev: Buffer = GENESIS_HASH;
    const rewritten = forged.map((r) => {
      const { prevHash: _p, contentHash: _c, recordHash: _r, data: _d, ...columns } = r;
      const data = { answer: 'rewritten' };
      const ch = contentHash({ ...(columns as unknown as HashedRecord), content: canonicalJson(data) });
      const rh = recordHash(prev, ch);
      const out = {
        ...columns,
        data,
        prevHash: prev.toString('hex'),
        contentHash: ch.toString('hex'),
        recordHash: rh.toString('hex'),
      };
      prev = rh;
      return out;
    });
    const report = verifyExport(jsonl(rewritten), goodCheckpoints);
    expect(report.problems[0]).toMatchObject({
      line: 3,
      tenantId: 'acme',
      seq: 3,
      expected: acme[2]!['recordHash'],
    });
    expect(report.problems[0]!.what).toBe(
      'record hash differs from the signed checkpoint of chain acme at seq 3',
    );
  });

  it('refuses a checkpoint whose signature does not verify', () => {
    const bad = { ...checkpoint(acme[4]!, key), seq: 4 };
    const report = verifyExport(jsonl(interleaved), checkpointsFile(key, [bad]));
    expect(report.problems).toEqual([
      {
        line: 7,
        tenantId: 'acme',
        seq: 4,
        what: `checkpoint of chain acme at seq 4: the signature does not verify with key ${key.keyId}`,
      },
    ]);
  });

  it('refuses a checkpoint from another key: unlisted, or claiming a listed key id', () => {
    const other = newKey();
    const unlisted = verifyExport(jsonl(interleaved), checkpointsFile(key, [checkpoint(acme[2]!, other)]));
    expect(unlisted.problems[0]!.what).toBe(
      `checkpoint of chain acme at seq 3 is signed by key ${other.keyId}, which is not among the keys of the checkpoints file`,
    );
    const impostor = verifyExport(
      jsonl(interleaved),
      checkpointsFile(key, [checkpoint(acme[2]!, key, other.privateKey)]),
    );
    expect(impostor.problems[0]!.what).toMatch(/the signature does not verify/);
  });

  it('trusts only pinned keys when given, whatever keys the checkpoints file lists', () => {
    const attacker = newKey();
    const file = checkpointsFile(attacker, [checkpoint(acme[2]!, attacker)]);
    expect(verifyExport(jsonl(interleaved), file).ok).toBe(true);
    const pinned = verifyExport(jsonl(interleaved), file, [trustedKey(key.publicKeyPem, 'key.pem')]);
    expect(pinned.problems[0]!.what).toMatch(/not among the keys given with --public-key/);
  });

  it('says when the signatures were checked against the keys of the checkpoints file itself, not pinned ones', () => {
    const listed = verifyExport(jsonl(interleaved), goodCheckpoints);
    expect(listed.keys).toBe('listed');
    expect(formatVerifyReport(listed)).toMatch(/not pinned: .*--public-key/);
    const pinned = verifyExport(jsonl(interleaved), goodCheckpoints, [
      trustedKey(key.publicKeyPem, 'key.pem'),
    ]);
    expect(pinned.keys).toBe('pinned');
    expect(formatVerifyReport(pinned)).not.toMatch(/not pinned/);
  });

  it('verifies a chain longer than a call may take arguments (no spread of every seq)', () => {
    const long = chain('acme', 150_000);
    const report = verifyExport(jsonl(long), checkpointsFile(key, [checkpoint(long[149_999]!, key)]));
    expect(report.problems).toEqual([]);
    expect(report.chains).toEqual([
      { tenantId: 'acme', fromSeq: 1, toSeq: 150_000, records: 150_000, checkpointsMatched: 1 },
    ]);
  });

  it('names a line that is not JSON or not a record, and a checkpoints file that is not one', () => {
    const text = `${jsonl(interleaved.slice(0, 2))}{oops\n${JSON.stringify({ tenantId: 'acme' })}\n`;
    const report = verifyExport(text, '{}');
    expect(report.problems.map((p) => [p.line, p.what.slice(0, 28)])).toEqual([
      [3, 'not a JSON object (Expected '],
      [4, 'not an audit export record: '],
      [null, 'checkpoints file: needs a "c'],
    ]);
  });

  it('verifies a line carrying storedContent (an encrypted tenant) against that, not its revealed data', () => {
    const [first] = chain('enc', 1);
    const stored = canonicalJson({ secret: { enc: 'v1:abc' } });
    const columns = { ...first!, data: undefined };
    const ch = contentHash({ ...(columns as unknown as HashedRecord), content: stored });
    const rh = recordHash(GENESIS_HASH, ch);
    const line = {
      ...first!,
      data: { secret: 'revealed' },
      storedContent: stored,
      contentHash: ch.toString('hex'),
      recordHash: rh.toString('hex'),
    };
    expect(verifyExport(jsonl([line]), checkpointsFile(key, [])).ok).toBe(true);
    expect(verifyExport(jsonl([{ ...line, storedContent: undefined }]), checkpointsFile(key, [])).ok).toBe(
      false,
    );
  });
});

jest.setTimeout(120_000);

import { CheckpointService } from '@deliberate/audit/checkpoints/checkpoint.service';
import { keyIdOf, statementBytes } from '@deliberate/audit-chain';
import type { CheckpointList, VerifyReport } from '@deliberate/contracts';
import { pollUntil } from '@deliberate/testing';
import { createPublicKey, generateKeyPairSync, verify as verifySignature } from 'node:crypto';
import { type AuditHarness, auditHttp, startAudit, storedCount } from './audit-harness';
import { publishTask } from './fixtures';

// A rotation of the checkpoint signing key: the service restarts with a new AUDIT_SIGNING_KEY and the old public key
// in AUDIT_CHECKPOINT_PUBLIC_KEYS; every checkpoint signed before still verifies, and one whose key is not in the
// keyring (or was signed outside its key's validity) fails naming the key.

let h: AuditHarness;

beforeAll(async () => {
  h = await startAudit('audit-rotation');
});

afterAll(async () => {
  await h?.close();
});

const newSigningKey = () =>
  generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = (privatePem: string) =>
  createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString();
const keyIdOfPem = (privatePem: string) => keyIdOf(createPublicKey(privatePem));

const verify = async (tenantId: string) =>
  (await auditHttp<VerifyReport>(h, `/v1/audit/verify?tenantId=${tenantId}`)).body;

async function storeTaskAndCheckpoint(tenantId: string, records: number): Promise<void> {
  await publishTask(h, tenantId);
  await pollUntil(
    () => storedCount(h, tenantId),
    (n) => n === records,
    { what: `${records} records for ${tenantId}` },
  );
  expect(await h.app.get(CheckpointService).checkpointDue()).toBeGreaterThanOrEqual(1);
}

it('keeps the checkpoints signed before a rotation verifiable, and names a key missing from the keyring or used outside its validity', async () => {
  const oldKey = h.signingKeyPem;
  const oldId = keyIdOfPem(oldKey);
  await storeTaskAndCheckpoint('rot-a', 5);

  const newKey = newSigningKey();
  const newId = keyIdOfPem(newKey);
  const oldEntry = (notAfter: Date) => ({
    keyId: oldId,
    publicKey: publicPem(oldKey),
    notAfter: notAfter.toISOString(),
  });
  await h.restart(undefined, {
    AUDIT_SIGNING_KEY: newKey,
    AUDIT_CHECKPOINT_PUBLIC_KEYS: JSON.stringify([oldEntry(new Date())]),
  });
  await storeTaskAndCheckpoint('rot-a', 10);

  const report = await verify('rot-a');
  expect(report).toMatchObject({
    ok: true,
    firstBrokenLink: null,
    headMismatch: null,
    checkpointsChecked: 2,
  });
  expect(report.newestCheckpoint).toMatchObject({ seq: 10, keyId: newId });

  // The export names each checkpoint's key and lists every key of the keyring: each checkpoint verifies outside the
  // system with the key its id names.
  const exported = (await auditHttp<CheckpointList>(h, '/v1/audit/checkpoints?tenantId=rot-a')).body;
  expect(exported.keyId).toBe(newId);
  expect(exported.keys.map((k) => [k.keyId, k.current])).toEqual([
    [newId, true],
    [oldId, false],
  ]);
  expect(exported.checkpoints.map((c) => [c.seq, c.keyId])).toEqual([
    [5, oldId],
    [10, newId],
  ]);
  for (const c of exported.checkpoints) {
    const key = exported.keys.find((k) => k.keyId === c.keyId)!;
    const statement = { tenantId: c.tenantId, seq: c.seq, recordHash: c.recordHash, at: c.at };
    expect(
      verifySignature(null, statementBytes(statement), key.publicKeyPem, Buffer.from(c.signature, 'base64')),
    ).toBe(true);
  }

  // Without the old key, the first checkpoint it signed fails, naming it.
  await h.restart(undefined, { AUDIT_SIGNING_KEY: newKey });
  const unknown = await verify('rot-a');
  expect(unknown.ok).toBe(false);
  expect(unknown.firstBrokenLink).toMatchObject({ seq: 5, reason: 'checkpoint_unknown_key', keyId: oldId });
  expect(unknown.firstBrokenLink!.detail).toContain(oldId);

  // With the old key retired before it signed that checkpoint, the checkpoint is outside the key's validity.
  const signedAt = exported.checkpoints[0]!.at;
  await h.restart(undefined, {
    AUDIT_SIGNING_KEY: newKey,
    AUDIT_CHECKPOINT_PUBLIC_KEYS: JSON.stringify([oldEntry(new Date(Date.parse(signedAt) - 1_000))]),
  });
  const expired = await verify('rot-a');
  expect(expired.firstBrokenLink).toMatchObject({ seq: 5, reason: 'checkpoint_key_not_valid', keyId: oldId });
  expect(expired.firstBrokenLink!.detail).toContain(signedAt);
});

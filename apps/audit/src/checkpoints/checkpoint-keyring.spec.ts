import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { checkpointPublicKey, CheckpointKeyring, parsePublicKey } from './checkpoint-keyring';
import { keyIdOf } from '@deliberate/audit-chain';
import { CheckpointSigner, parseSigningKey } from './checkpoint-signer';

const newSigner = () =>
  new CheckpointSigner(
    parseSigningKey(
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ),
  );

const statement = (at: string) => ({ tenantId: 'acme', seq: 7, recordHash: 'cd'.repeat(32), at });

describe('CheckpointKeyring', () => {
  const old = newSigner();
  const current = newSigner();
  const retiredAt = '2026-06-01T00:00:00.000Z';
  const keyring = new CheckpointKeyring(current, [
    checkpointPublicKey({ keyId: old.keyId, publicKey: old.publicKeyPem, notAfter: retiredAt }),
  ]);

  it('verifies checkpoints of the current key and of a retired key signed within its validity', () => {
    const before = statement('2026-05-31T23:59:59.000Z');
    expect(keyring.verify(before, old.keyId, old.sign(before))).toEqual({ ok: true });
    const now = statement('2026-12-01T00:00:00.000Z');
    expect(keyring.verify(now, current.keyId, current.sign(now))).toEqual({ ok: true });
    expect(keyring.keys().map((k) => [k.keyId, k.current, k.notAfter?.toISOString() ?? null])).toEqual([
      [current.keyId, true, null],
      [old.keyId, false, retiredAt],
    ]);
  });

  it('names the key of a checkpoint signed by an unknown key, after its key was retired, or not by its key', () => {
    const stranger = newSigner();
    const s = statement('2026-05-01T00:00:00.000Z');
    expect(keyring.verify(s, stranger.keyId, stranger.sign(s))).toMatchObject({
      ok: false,
      reason: 'checkpoint_unknown_key',
      detail: expect.stringContaining(stranger.keyId) as unknown,
    });
    const late = statement('2026-06-01T00:00:00.001Z');
    expect(keyring.verify(late, old.keyId, old.sign(late))).toMatchObject({
      ok: false,
      reason: 'checkpoint_key_not_valid',
      detail: expect.stringContaining(old.keyId) as unknown,
    });
    // A signature by another key under the old key's id.
    expect(keyring.verify(s, old.keyId, stranger.sign(s))).toMatchObject({
      ok: false,
      reason: 'checkpoint_bad_signature',
    });
  });

  it('refuses the signing key listed with a notAfter, and a key listed twice', () => {
    expect(
      () =>
        new CheckpointKeyring(current, [
          checkpointPublicKey({ keyId: current.keyId, publicKey: current.publicKeyPem, notAfter: retiredAt }),
        ]),
    ).toThrow(/current signing key/);
    const entry = checkpointPublicKey({ keyId: old.keyId, publicKey: old.publicKeyPem });
    expect(() => new CheckpointKeyring(current, [entry, entry])).toThrow(/listed twice/);
  });

  it('reads a public key as SPKI PEM or raw base64, and checks the stated id against the key', () => {
    const raw = createPublicKey(old.publicKeyPem).export({ format: 'jwk' }).x!;
    const fromRaw = parsePublicKey(Buffer.from(raw, 'base64url').toString('base64'));
    expect(keyIdOf(fromRaw)).toBe(old.keyId);
    expect(() => checkpointPublicKey({ keyId: current.keyId, publicKey: old.publicKeyPem })).toThrow(
      new RegExp(`not this key's id \\(${old.keyId}\\)`),
    );
    expect(() =>
      checkpointPublicKey({
        keyId: old.keyId,
        publicKey: old.publicKeyPem,
        notBefore: retiredAt,
        notAfter: '2026-01-01T00:00:00Z',
      }),
    ).toThrow(/notBefore must be before notAfter/);
  });
});

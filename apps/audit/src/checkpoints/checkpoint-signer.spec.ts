import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { statementBytes } from '@deliberate/audit-chain';
import { CheckpointSigner, parseSigningKey } from './checkpoint-signer';

describe('CheckpointSigner', () => {
  const statement = {
    tenantId: 'acme',
    seq: 42,
    recordHash: 'ab'.repeat(32),
    at: '2026-11-26T10:00:00.000Z',
  };

  it('signs with a PEM key; the exported public key verifies outside the signer', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = new CheckpointSigner(
      parseSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    );
    const signature = signer.sign(statement);
    expect(verify(null, statementBytes(statement), signer.publicKeyPem, signature)).toBe(true);
    expect(signer.verify({ ...statement, seq: 43 }, signature)).toBe(false);
    expect(signer.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('accepts a base64 seed, and refuses a key that is not Ed25519', () => {
    const signer = new CheckpointSigner(parseSigningKey(randomBytes(32).toString('base64')));
    expect(signer.verify(statement, signer.sign(statement))).toBe(true);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => parseSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow(
      /Ed25519/,
    );
    expect(() => parseSigningKey('c2hvcnQ=')).toThrow(/32 bytes/);
  });
});

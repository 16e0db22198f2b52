import { type CheckpointStatement, keyIdOf, statementBytes } from '@deliberate/audit-chain';
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

// The PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function parseSigningKey(value: string): KeyObject {
  const trimmed = value.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPrivateKey(trimmed)
    : (() => {
        const seed = Buffer.from(trimmed, 'base64');
        if (seed.length !== 32) throw new Error('AUDIT_SIGNING_KEY: a base64 seed must decode to 32 bytes');
        return createPrivateKey({
          key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
          format: 'der',
          type: 'pkcs8',
        });
      })();
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`AUDIT_SIGNING_KEY: an Ed25519 key is required, not ${key.asymmetricKeyType}`);
  }
  return key;
}

export class CheckpointSigner {
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyId: string;

  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    this.publicKeyPem = this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.keyId = keyIdOf(this.publicKey);
  }

  sign(statement: CheckpointStatement): Buffer {
    return sign(null, statementBytes(statement), this.privateKey);
  }

  verify(statement: CheckpointStatement, signature: Buffer): boolean {
    return verify(null, statementBytes(statement), this.publicKey, signature);
  }
}

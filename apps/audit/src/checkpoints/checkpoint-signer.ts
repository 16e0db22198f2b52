import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from '../chain/canonical-json';

/** What a checkpoint signs: a chain's position and the record hash there. */
export interface CheckpointStatement {
  tenantId: string;
  seq: number;
  /** Hex SHA-256 record hash at `seq`. */
  recordHash: string;
  /** ISO 8601 signing time. */
  at: string;
}

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

/** The exact bytes signed: canonical JSON (sorted keys) of the statement. */
export function statementBytes(s: CheckpointStatement): Buffer {
  return Buffer.from(canonicalJson(s), 'utf8');
}

/** First 16 hex digits of the SHA-256 of the public key (SPKI DER): names the key in each checkpoint. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
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

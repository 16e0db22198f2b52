import type { BrokenLinkReason } from '@deliberate/contracts';
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { type CheckpointStatement, keyIdOf, statementBytes } from '@deliberate/audit-chain';
import type { CheckpointSigner } from './checkpoint-signer';

// The public keys checkpoints are verified with: the current signing key, and the keys it replaced, each valid for
// the checkpoints signed within its period. A rotation keeps every older checkpoint verifiable, and a checkpoint
// signed by a key nobody listed, or outside its key's period, fails naming the key.

/** A key of the keyring as configured (AUDIT_CHECKPOINT_PUBLIC_KEYS). */
export interface CheckpointPublicKey {
  keyId: string;
  publicKeyPem: string;
  /** Checkpoints signed before this are refused; null: no lower bound. */
  notBefore: Date | null;
  /** Checkpoints signed after this are refused (the key was retired); null: still valid (a key published ahead). */
  notAfter: Date | null;
}

export interface KeyringKey extends CheckpointPublicKey {
  /** The key the service signs new checkpoints with. */
  current: boolean;
}

export type CheckpointKeyProblem = Extract<
  BrokenLinkReason,
  'checkpoint_unknown_key' | 'checkpoint_key_not_valid' | 'checkpoint_bad_signature'
>;

export type CheckpointVerdict = { ok: true } | { ok: false; reason: CheckpointKeyProblem; detail: string };

// An Ed25519 SubjectPublicKeyInfo in DER is this prefix followed by the 32-byte key.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** An Ed25519 public key from an SPKI PEM, or the raw 32 bytes in base64. */
export function parsePublicKey(value: string): KeyObject {
  const trimmed = value.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : (() => {
        const raw = Buffer.from(trimmed, 'base64');
        if (raw.length !== 32) throw new Error('a base64 public key must decode to 32 bytes');
        return createPublicKey({
          key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
          format: 'der',
          type: 'spki',
        });
      })();
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`an Ed25519 key is required, not ${key.asymmetricKeyType}`);
  }
  return key;
}

/** Parses one configured entry; throws with what is wrong. */
export function checkpointPublicKey(entry: {
  keyId: string;
  publicKey: string;
  notBefore?: string | undefined;
  notAfter?: string | undefined;
}): CheckpointPublicKey {
  const key = parsePublicKey(entry.publicKey);
  const derived = keyIdOf(key);
  // The id is derived from the key: a stated id that differs means the wrong key was pasted.
  if (derived !== entry.keyId) throw new Error(`keyId ${entry.keyId} is not this key's id (${derived})`);
  const notBefore = entry.notBefore ? new Date(entry.notBefore) : null;
  const notAfter = entry.notAfter ? new Date(entry.notAfter) : null;
  if (notBefore && notAfter && notBefore >= notAfter) throw new Error('notBefore must be before notAfter');
  return {
    keyId: derived,
    publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
    notBefore,
    notAfter,
  };
}

const iso = (d: Date | null) => (d ? d.toISOString() : 'unbounded');

export class CheckpointKeyring {
  private readonly byId = new Map<string, KeyringKey & { publicKey: KeyObject }>();

  constructor(signer: CheckpointSigner, older: readonly CheckpointPublicKey[]) {
    for (const k of older) {
      if (k.keyId === signer.keyId) {
        // The key signing now cannot also be retired: its own new checkpoints would fail.
        if (k.notAfter) {
          throw new Error(
            `AUDIT_CHECKPOINT_PUBLIC_KEYS: key ${k.keyId} is the current signing key and cannot have a notAfter`,
          );
        }
        continue;
      }
      if (this.byId.has(k.keyId)) {
        throw new Error(`AUDIT_CHECKPOINT_PUBLIC_KEYS: key ${k.keyId} is listed twice`);
      }
      this.byId.set(k.keyId, { ...k, current: false, publicKey: createPublicKey(k.publicKeyPem) });
    }
    const listed = older.find((k) => k.keyId === signer.keyId);
    this.byId.set(signer.keyId, {
      keyId: signer.keyId,
      publicKeyPem: signer.publicKeyPem,
      notBefore: listed?.notBefore ?? null,
      notAfter: null,
      current: true,
      publicKey: signer.publicKey,
    });
  }

  /** Every key, current first, then the others by id. */
  keys(): KeyringKey[] {
    return [...this.byId.values()]
      .map(({ publicKey: _, ...k }) => k)
      .sort((a, b) => Number(b.current) - Number(a.current) || a.keyId.localeCompare(b.keyId));
  }

  verify(statement: CheckpointStatement, keyId: string, signature: Buffer): CheckpointVerdict {
    const key = this.byId.get(keyId);
    if (!key) {
      return {
        ok: false,
        reason: 'checkpoint_unknown_key',
        detail: `the checkpoint is signed by key ${keyId}, which is not in the keyring (AUDIT_SIGNING_KEY, AUDIT_CHECKPOINT_PUBLIC_KEYS)`,
      };
    }
    const at = new Date(statement.at);
    if ((key.notBefore && at < key.notBefore) || (key.notAfter && at > key.notAfter)) {
      return {
        ok: false,
        reason: 'checkpoint_key_not_valid',
        detail: `the checkpoint was signed at ${statement.at} by key ${keyId}, valid from ${iso(key.notBefore)} to ${iso(key.notAfter)}`,
      };
    }
    if (!verify(null, statementBytes(statement), key.publicKey, signature)) {
      return {
        ok: false,
        reason: 'checkpoint_bad_signature',
        detail: `the checkpoint's signature does not verify with key ${keyId}`,
      };
    }
    return { ok: true };
  }
}

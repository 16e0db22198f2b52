import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

// Encryption at rest for values a service stores: AES-256-GCM with a random 96-bit IV per value. The additional
// data binds a ciphertext to the row it belongs to, so copying it into another row makes it undecryptable.

export interface AesGcmSealed {
  iv: Buffer;
  tag: Buffer;
  ct: Buffer;
}

export function sealAesGcm(key: Buffer, plaintext: Buffer, aad?: Buffer): AesGcmSealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ct };
}

/** Throws when the key, the additional data or the ciphertext is not the one sealed. */
export function openAesGcm(key: Buffer, sealed: AesGcmSealed, aad?: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  return Buffer.concat([decipher.update(sealed.ct), decipher.final()]);
}

/** A 256-bit key written as 64 hex digits or as base64 of 32 bytes; null for anything else. */
export function parseEncryptionKey(value: string): Buffer | null {
  const text = value.trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return null;
  const key = Buffer.from(text, 'base64');
  return key.length === 32 ? key : null;
}

export class ColumnDecryptionError extends Error {
  override name = 'ColumnDecryptionError';
}

const PREFIX = 'enc:v1:';

/**
 * A text column's value as `enc:v1:<key id>:<base64url of iv, tag and ciphertext>`. The key id (a digest of the key,
 * never the key) says which key sealed a value, so a rotation can tell old values from new ones, and a wrong key is
 * named as such instead of failing as a corrupt value.
 */
export class ColumnCipher {
  readonly keyId: string;
  private readonly keys: Map<string, Buffer>;

  /**
   * @param variable the configuration variable the key comes from, named in errors
   * @param previousKeys keys that only decrypt: values sealed before a rotation
   */
  constructor(
    key: Buffer,
    private readonly variable: string,
    previousKeys: readonly Buffer[] = [],
  ) {
    if (key.length !== 32) throw new Error(`${variable}: an AES-256 key is 32 bytes, not ${key.length}`);
    this.keyId = columnKeyId(key);
    this.keys = new Map([...previousKeys.map((k) => [columnKeyId(k), k] as const), [this.keyId, key]]);
  }

  static isEncrypted(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  /** The id of the key that sealed a stored value; null for a value stored in clear. */
  static keyIdOf(stored: string): string | null {
    if (!ColumnCipher.isEncrypted(stored)) return null;
    return stored.slice(PREFIX.length).split(':', 1)[0] ?? null;
  }

  /** Whether this cipher can decrypt values sealed with that key id. */
  knows(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  encrypt(plaintext: string, context: string): string {
    const sealed = sealAesGcm(
      this.keys.get(this.keyId)!,
      Buffer.from(plaintext, 'utf8'),
      Buffer.from(context),
    );
    return `${PREFIX}${this.keyId}:${Buffer.concat([sealed.iv, sealed.tag, sealed.ct]).toString('base64url')}`;
  }

  decrypt(stored: string, context: string): string {
    const keyId = ColumnCipher.keyIdOf(stored);
    if (keyId === null) throw new ColumnDecryptionError(`${context}: the stored value is not encrypted`);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new ColumnDecryptionError(
        `${context}: encrypted with key ${keyId}, but ${this.variable} is key ${this.keyId}` +
          (this.keys.size > 1
            ? ` (previous keys: ${[...this.keys.keys()].filter((k) => k !== this.keyId).join(', ')})`
            : '') +
          `: set the key it was encrypted with`,
      );
    }
    const raw = Buffer.from(stored.slice(PREFIX.length + keyId.length + 1), 'base64url');
    if (raw.length < 28) throw new ColumnDecryptionError(`${context}: the stored value is truncated`);
    try {
      return openAesGcm(
        key,
        { iv: raw.subarray(0, 12), tag: raw.subarray(12, 28), ct: raw.subarray(28) },
        Buffer.from(context),
      ).toString('utf8');
    } catch {
      throw new ColumnDecryptionError(
        `${context}: the stored value does not authenticate under key ${keyId} (altered, or copied from another row)`,
      );
    }
  }
}

/** 8 bytes of HMAC-SHA256 keyed by the key: identifies it without revealing anything about it. */
export function columnKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('deliberate column key id').digest('hex').slice(0, 16);
}

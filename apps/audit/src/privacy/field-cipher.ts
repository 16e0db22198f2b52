import { openAesGcm, sealAesGcm } from '@deliberate/persistence';
import { hkdfSync } from 'node:crypto';

/** How an encrypted field is stored in place of its value. */
export interface EncryptedField {
  $enc: 'aes-256-gcm';
  iv: string;
  tag: string;
  ct: string;
}

export function isEncryptedField(value: unknown): value is EncryptedField {
  return typeof value === 'object' && value !== null && (value as { $enc?: unknown }).$enc === 'aes-256-gcm';
}

// AES-256-GCM with a key per tenant, derived from one master key by HKDF-SHA256 (the tenant id is the info), so
// a tenant's records can be made unreadable by dropping its key without touching the others' (crypto-shredding).
export class FieldCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly tenants: Set<string>;

  constructor(
    private readonly masterKey: Buffer | null,
    encryptedTenants: readonly string[],
  ) {
    this.tenants = new Set(encryptedTenants);
  }

  encrypts(tenantId: string): boolean {
    return this.masterKey !== null && this.tenants.has(tenantId);
  }

  encrypt(tenantId: string, value: unknown): EncryptedField {
    const { iv, tag, ct } = sealAesGcm(this.key(tenantId), Buffer.from(JSON.stringify(value), 'utf8'));
    return {
      $enc: 'aes-256-gcm',
      iv: iv.toString('base64'),
      tag: tag.toString('base64'),
      ct: ct.toString('base64'),
    };
  }

  decrypt(tenantId: string, field: EncryptedField): unknown {
    if (!this.masterKey) throw new Error('no AUDIT_ENCRYPTION_KEY to decrypt with');
    const plain = openAesGcm(this.key(tenantId), {
      iv: Buffer.from(field.iv, 'base64'),
      tag: Buffer.from(field.tag, 'base64'),
      ct: Buffer.from(field.ct, 'base64'),
    });
    return JSON.parse(plain.toString('utf8')) as unknown;
  }

  private key(tenantId: string): Buffer {
    let key = this.keys.get(tenantId);
    if (!key) {
      if (!this.masterKey) throw new Error('no AUDIT_ENCRYPTION_KEY');
      key = Buffer.from(hkdfSync('sha256', this.masterKey, 'deliberate-audit', `tenant:${tenantId}`, 32));
      this.keys.set(tenantId, key);
    }
    return key;
  }
}

import type { FieldCipher } from './field-cipher';
import { isEncryptedField } from './field-cipher';
import type { Redactor } from './redactor';

// Keys whose values are free text somebody typed or a model wrote: everything below them is redacted.
// Identifiers, model names, times and amounts are left as they are (a date is not a phone number).
const FREE_TEXT_KEYS = new Set([
  'input',
  'content',
  'context',
  'title',
  'prompt',
  'trace',
  'providerReasoning',
  'answer',
  'reason',
  'message',
  'error',
  'errorMessage',
  'lastError',
  'responseSnippet',
]);

// The heavy, sensitive fields an encrypted tenant's records hold only as ciphertext.
const ENCRYPTED_KEYS = new Set(['input', 'context', 'prompt', 'trace', 'providerReasoning', 'answer']);

// Postgres text cannot hold NUL; a stored record must hash the same as the one read back.
const NUL = /\u0000/g;

/** Applies redaction (and encryption, for configured tenants) to an event's data before it is hashed and stored. */
export class RecordPrivacy {
  constructor(
    private readonly redactor: Redactor,
    private readonly cipher: FieldCipher,
  ) {}

  /** The stored form of `data`, and the redacted free text it held (for full-text search; empty when encrypted). */
  protect(tenantId: string, data: unknown): { stored: unknown; text: string[] } {
    const text: string[] = [];
    const encrypt = this.cipher.encrypts(tenantId);
    const walk = (value: unknown, inFreeText: boolean, key: string | null): unknown => {
      if (typeof value === 'string') {
        const clean = value.replace(NUL, '\uFFFD');
        if (!inFreeText) return clean;
        const redacted = this.redactor.redact(clean);
        if (!encrypt) text.push(redacted);
        return redacted;
      }
      if (Array.isArray(value)) return value.map((v) => walk(v, inFreeText, key));
      if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const cleanKey = k.replace(NUL, '\uFFFD');
          const protectedValue = walk(v, inFreeText || FREE_TEXT_KEYS.has(k), k);
          out[cleanKey] =
            encrypt && ENCRYPTED_KEYS.has(k) && protectedValue !== null
              ? this.cipher.encrypt(tenantId, protectedValue)
              : protectedValue;
        }
        return out;
      }
      return value;
    };
    return { stored: walk(data, false, null), text };
  }

  /** The readable form of stored data, for an auditor entitled to the tenant. */
  reveal(tenantId: string, stored: unknown): unknown {
    if (Array.isArray(stored)) return stored.map((v) => this.reveal(tenantId, v));
    if (stored !== null && typeof stored === 'object') {
      if (isEncryptedField(stored)) {
        try {
          return this.cipher.decrypt(tenantId, stored);
        } catch (e) {
          return { undecryptable: (e as Error).message };
        }
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(stored as Record<string, unknown>))
        out[k] = this.reveal(tenantId, v);
      return out;
    }
    return stored;
  }
}

import { createHash, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json';

// What an audit checkpoint signs, byte for byte: the audit service signs these bytes and anyone holding an export
// verifies them (the CLI's `audit verify-export`), so both read them from here.

/** What a checkpoint signs: a chain's position and the record hash there. */
export interface CheckpointStatement {
  tenantId: string;
  seq: number;
  /** Hex SHA-256 record hash at `seq`. */
  recordHash: string;
  /** ISO 8601 signing time. */
  at: string;
}

/** The exact bytes signed: canonical JSON (sorted keys) of the statement. */
export function statementBytes(s: CheckpointStatement): Buffer {
  return Buffer.from(
    canonicalJson({ tenantId: s.tenantId, seq: s.seq, recordHash: s.recordHash, at: s.at }),
    'utf8',
  );
}

/** First 16 hex digits of the SHA-256 of the public key (SPKI DER): names the key in each checkpoint. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
// Standard Webhooks asks for 24 to 64 bytes; 32 is what Svix issues.
const SECRET_BYTES = 32;

/** A fresh signing secret, `whsec_<base64 of 32 random bytes>`, as the standardwebhooks libraries read it. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

export function secretKey(secret: string): Buffer {
  return Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
}

/** One `v1,<base64 HMAC-SHA256>` over `id.timestamp.body`, per the Standard Webhooks spec. */
export function sign(key: Buffer, messageId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers; with several keys (a rotation's overlap), one signature per key. */
export function signatureHeaders(
  keys: readonly Buffer[],
  messageId: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': keys.map((k) => sign(k, messageId, timestampSeconds, body)).join(' '),
  };
}

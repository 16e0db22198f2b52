import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// The Standard Webhooks signing scheme (https://www.standardwebhooks.com), shared by the webhooks we send and the
// Kafka submissions we receive: `v1,<base64 HMAC-SHA256>` over `${id}.${timestampSeconds}.${body}`, keyed with the
// base64 part of a `whsec_` secret, so any Standard Webhooks library can sign or verify either.

export const SIGNING_SECRET_PREFIX = 'whsec_';
// Standard Webhooks asks for 24 to 64 bytes; 32 is what Svix issues.
const SECRET_BYTES = 32;
// A header may carry a signature per secret during rotations; more than this is not a rotation.
const MAX_SIGNATURES = 8;

/** A fresh signing secret, `whsec_<base64 of 32 random bytes>`, as the standardwebhooks libraries read it. */
export function generateSigningSecret(): string {
  return `${SIGNING_SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The HMAC key of a secret: its base64 part decoded (the `whsec_` prefix is optional). */
export function signingKey(secret: string): Buffer {
  return Buffer.from(
    secret.startsWith(SIGNING_SECRET_PREFIX) ? secret.slice(SIGNING_SECRET_PREFIX.length) : secret,
    'base64',
  );
}

/** One `v1,<base64 HMAC-SHA256>` over `id.timestamp.body`. */
export function signStandardWebhook(
  key: Buffer,
  id: string,
  timestampSeconds: number,
  body: string | Buffer,
): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/**
 * Which of `keys` signed `id.timestamp.body`, by index, or null: the header holds space-separated `v1,<base64>`
 * signatures (one per secret during a rotation); other versions are ignored. Compared in constant time.
 */
export function matchStandardWebhookSignature(
  keys: readonly Buffer[],
  id: string,
  timestampSeconds: number,
  body: string | Buffer,
  signatureHeader: string,
): number | null {
  const offered = signatureHeader
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .slice(0, MAX_SIGNATURES)
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const [index, key] of keys.entries()) {
    const expected = Buffer.from(signStandardWebhook(key, id, timestampSeconds, body).slice(3), 'base64');
    if (offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected))) return index;
  }
  return null;
}

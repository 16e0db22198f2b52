import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PREFIX = 'dlb_';

// Keys carry 192 random bits, so a plain SHA-256 is a safe stored form: there is nothing to brute-force.
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
  return { key, prefix: key.slice(0, 12), hash: hashApiKey(key) };
}

// What generateApiKey makes: anything else cannot be a tenant key, and is refused without a database lookup.
const API_KEY_FORMAT = /^dlb_[A-Za-z0-9_-]{32}$/;

export function looksLikeApiKey(key: string): boolean {
  return API_KEY_FORMAT.test(key);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function constantTimeEquals(a: string, b: string): boolean {
  const ab = Buffer.from(hashApiKey(a), 'hex');
  const bb = Buffer.from(hashApiKey(b), 'hex');
  return timingSafeEqual(ab, bb);
}

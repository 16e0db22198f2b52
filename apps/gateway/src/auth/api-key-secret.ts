import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PREFIX = 'dlb_';

// Keys carry 192 random bits, so a plain SHA-256 is a safe stored form: there is nothing to brute-force.
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
  return { key, prefix: key.slice(0, 12), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function constantTimeEquals(a: string, b: string): boolean {
  const ab = Buffer.from(hashApiKey(a), 'hex');
  const bb = Buffer.from(hashApiKey(b), 'hex');
  return timingSafeEqual(ab, bb);
}

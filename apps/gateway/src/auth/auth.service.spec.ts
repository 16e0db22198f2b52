import { loadGatewayConfig } from '../config';
import { generateApiKey, hashApiKey } from './api-key-secret';
import type { AuthRepository } from './auth.repository';
import { AuthService } from './auth.service';

const VALID_KEY = generateApiKey().key;
const randomKey = () => generateApiKey().key;

// Answers one known key; counts every lookup by hash.
class FakeAuthRepository {
  readonly lookups = new Map<string, number>();

  findActiveKeyByHash(hash: string) {
    this.lookups.set(hash, (this.lookups.get(hash) ?? 0) + 1);
    if (hash !== hashApiKey(VALID_KEY)) return Promise.resolve(null);
    return Promise.resolve({
      id: '0190a0b0-0000-7000-8000-000000000001',
      tenantId: 'acme',
      role: 'submitter' as const,
      name: null,
      prefix: VALID_KEY.slice(0, 12),
      createdAt: new Date(0).toISOString(),
      revokedAt: null,
      quotas: { requestsPerSecond: null, burst: null, maxUnfinishedTasks: null, maxWebhookEndpoints: 7 },
    });
  }
}

function serviceWith(repository: FakeAuthRepository, env: Record<string, string> = {}) {
  const config = loadGatewayConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    KAFKA_BROKERS: 'x:1',
    ...env,
  });
  return new AuthService(repository as unknown as AuthRepository, config);
}

describe('AuthService key cache', () => {
  it('keeps a valid key cached while an attacker sprays random keys', async () => {
    const repository = new FakeAuthRepository();
    const auth = serviceWith(repository);
    expect((await auth.authenticate(VALID_KEY))?.principal).toEqual({
      kind: 'tenant',
      tenantId: 'acme',
      role: 'submitter',
      keyId: '0190a0b0-0000-7000-8000-000000000001',
      maxWebhookEndpoints: 7,
    });
    for (let i = 0; i < 25_000; i++) {
      expect(await auth.authenticate(randomKey())).toBeNull();
    }
    expect(await auth.authenticate(VALID_KEY)).toBeTruthy();
    expect(repository.lookups.get(hashApiKey(VALID_KEY))).toBe(1);
  });

  it('remembers an unknown key, but only a bounded number of them', async () => {
    const repository = new FakeAuthRepository();
    const auth = serviceWith(repository);
    const firstUnknown = randomKey();
    await auth.authenticate(firstUnknown);
    await auth.authenticate(firstUnknown);
    expect(repository.lookups.get(hashApiKey(firstUnknown))).toBe(1);
    for (let i = 0; i < 25_000; i++) await auth.authenticate(randomKey());
    await auth.authenticate(firstUnknown);
    // Pushed out by the newer misses: looked up again, and still unknown.
    expect(repository.lookups.get(hashApiKey(firstUnknown))).toBe(2);
  });

  it('looks a key up every time when caching is off', async () => {
    const repository = new FakeAuthRepository();
    const auth = serviceWith(repository, { GATEWAY_API_KEY_CACHE_TTL_MS: '0' });
    await auth.authenticate(VALID_KEY);
    await auth.authenticate(VALID_KEY);
    expect(repository.lookups.get(hashApiKey(VALID_KEY))).toBe(2);
  });

  it('refuses what cannot be a key without looking it up', async () => {
    const repository = new FakeAuthRepository();
    const auth = serviceWith(repository);
    for (const key of ['dlb_short', `dlb_${'a'.repeat(31)}!`, 'x'.repeat(36), `${VALID_KEY} `]) {
      expect(await auth.authenticate(key)).toBeNull();
    }
    expect(repository.lookups.size).toBe(0);
  });
});

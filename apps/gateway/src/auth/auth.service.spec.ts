import { loadGatewayConfig } from '../config';
import { hashApiKey } from './api-key-secret';
import type { AuthRepository } from './auth.repository';
import { AuthService } from './auth.service';

const VALID_KEY = 'dlb_valid-key-of-tenant-acme-000000000';

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
      expect(await auth.authenticate(`dlb_sprayed-${i}`)).toBeNull();
    }
    expect(await auth.authenticate(VALID_KEY)).toBeTruthy();
    expect(repository.lookups.get(hashApiKey(VALID_KEY))).toBe(1);
  });

  it('remembers an unknown key, but only a bounded number of them', async () => {
    const repository = new FakeAuthRepository();
    const auth = serviceWith(repository);
    await auth.authenticate('dlb_first-unknown');
    await auth.authenticate('dlb_first-unknown');
    expect(repository.lookups.get(hashApiKey('dlb_first-unknown'))).toBe(1);
    for (let i = 0; i < 25_000; i++) await auth.authenticate(`dlb_sprayed-${i}`);
    await auth.authenticate('dlb_first-unknown');
    // Pushed out by the newer misses: looked up again, and still unknown.
    expect(repository.lookups.get(hashApiKey('dlb_first-unknown'))).toBe(2);
  });

  it('looks a key up every time when caching is off', async () => {
    const repository = new FakeAuthRepository();
    const auth = serviceWith(repository, { GATEWAY_API_KEY_CACHE_TTL_MS: '0' });
    await auth.authenticate(VALID_KEY);
    await auth.authenticate(VALID_KEY);
    expect(repository.lookups.get(hashApiKey(VALID_KEY))).toBe(2);
  });
});

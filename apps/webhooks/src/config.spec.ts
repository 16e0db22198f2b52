import { loadWebhooksConfig as load } from './config';

const KEY = 'a'.repeat(64);
const loadWebhooksConfig = (env: Record<string, string>) =>
  load({ WEBHOOKS_SECRET_ENCRYPTION_KEY: KEY, ...env });

describe('webhooks config', () => {
  it('defaults to the Svix schedule, a 15 s timeout and no allowlist', () => {
    const config = loadWebhooksConfig({});
    expect(config.WEBHOOKS_RETRY_SCHEDULE).toEqual([
      0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(config.WEBHOOKS_TIMEOUT_MS).toBe(15_000);
    expect(config.WEBHOOKS_ALLOWED_NETWORKS).toEqual([]);
    expect(config.WEBHOOKS_PORT).toBe(3004);
    // Reachable only from this host unless an operator opens it: only the gateway should call it.
    expect(config.WEBHOOKS_HOST).toBe('127.0.0.1');
  });

  it('reads a compressed schedule and an allowlist', () => {
    const config = loadWebhooksConfig({
      WEBHOOKS_RETRY_SCHEDULE: '0, 200ms, 1s, 0.5m',
      WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    });
    expect(config.WEBHOOKS_RETRY_SCHEDULE).toEqual([0, 200, 1_000, 30_000]);
    expect(config.WEBHOOKS_ALLOWED_NETWORKS).toEqual(['127.0.0.0/8', '::1/128']);
  });

  it('names every bad variable', () => {
    expect(() =>
      loadWebhooksConfig({
        WEBHOOKS_RETRY_SCHEDULE: '0,5,5m',
        WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.1',
      }),
    ).toThrow(/WEBHOOKS_RETRY_SCHEDULE: entry 2 '5'[\s\S]*WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.1'/);
  });

  it('refuses a lease no longer than the timeout: a slow attempt would be sent twice', () => {
    expect(() => loadWebhooksConfig({ WEBHOOKS_TIMEOUT_MS: '20000', WEBHOOKS_LEASE_MS: '10000' })).toThrow(
      /WEBHOOKS_LEASE_MS: must exceed WEBHOOKS_TIMEOUT_MS/,
    );
  });

  it('requires a 32-byte key for the secrets at rest, and previous keys of the same kind', () => {
    expect(() => load({})).toThrow(/WEBHOOKS_SECRET_ENCRYPTION_KEY: is required: 32 random bytes/);
    expect(() =>
      loadWebhooksConfig({
        WEBHOOKS_SECRET_ENCRYPTION_KEY: 'local-webhooks-key',
        WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS: `${'b'.repeat(64)},short`,
      }),
    ).toThrow(
      /WEBHOOKS_SECRET_ENCRYPTION_KEY: must be 32 bytes[\s\S]*WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS: each must be 32 bytes/,
    );
    const config = loadWebhooksConfig({
      WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS: Buffer.alloc(32, 1).toString('base64'),
    });
    expect(config.WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS).toHaveLength(1);
  });
});

import { loadWebhooksConfig } from './config';

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
});

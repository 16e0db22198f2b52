import { endpointLimitFor } from './endpoint-limit';

describe('endpointLimitFor', () => {
  const tenant = { kind: 'tenant', tenantId: 'acme', role: 'admin', keyId: 'k1' } as const;

  it("binds a tenant key by its tenant's own cap, else by the default", () => {
    expect(endpointLimitFor({ ...tenant, maxWebhookEndpoints: 7 }, 50)).toBe(7);
    expect(endpointLimitFor({ ...tenant, maxWebhookEndpoints: 0 }, 50)).toBe(0);
    expect(endpointLimitFor(tenant, 50)).toBe(50);
  });

  it('does not bind the platform admin', () => {
    expect(endpointLimitFor({ kind: 'platform-admin' }, 50)).toBeNull();
  });
});

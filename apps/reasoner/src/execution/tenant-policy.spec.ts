import { resolveTenantPolicy, tenantPoliciesFromJson } from './tenant-policy';

describe('tenant policies', () => {
  it('parses REASONER_TENANT_POLICIES and fills in the defaults', () => {
    const policies = tenantPoliciesFromJson.parse(
      JSON.stringify({
        acme: { fallback: ['human'], onBudgetDenied: 'fail', maxThinkingTokensCeiling: 8_000 },
      }),
    );
    expect(resolveTenantPolicy(policies, 'acme', 128_000)).toEqual({
      fallback: ['human'],
      onBudgetDenied: 'fail',
      maxThinkingTokensCeiling: 8_000,
    });
    expect(resolveTenantPolicy(policies, 'other', 128_000)).toEqual({
      fallback: ['standard', 'human'],
      onBudgetDenied: 'fail',
      maxThinkingTokensCeiling: 128_000,
    });
  });

  it('refuses bad JSON, unknown keys, and a human step that is not last', () => {
    expect(tenantPoliciesFromJson.safeParse('{').success).toBe(false);
    expect(tenantPoliciesFromJson.safeParse('{"a":{"fallbak":[]}}').success).toBe(false);
    expect(tenantPoliciesFromJson.safeParse('{"a":{"fallback":["human","standard"]}}').success).toBe(false);
    expect(tenantPoliciesFromJson.safeParse('{"a":{"fallback":[]}}').success).toBe(true);
  });
});

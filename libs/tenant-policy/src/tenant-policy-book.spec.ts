import { DEFAULT_TENANT_POLICY, tenantPolicySchema } from '@deliberate/contracts';
import { TenantPolicyBook } from './tenant-policy-book';

const policy = (topK: number) => tenantPolicySchema.parse({ context: { topK } });

describe('TenantPolicyBook', () => {
  it('answers the default policy at version 0 for a tenant that never set one', () => {
    const book = new TenantPolicyBook();
    expect(book.policyOf('acme')).toEqual(DEFAULT_TENANT_POLICY);
    expect(book.versionOf('acme')).toBe(0);
  });

  it('keeps the highest version per tenant, whatever order the versions arrive in', () => {
    const book = new TenantPolicyBook();
    expect(book.apply('acme', 2, policy(5))).toBe(true);
    expect(book.apply('acme', 1, policy(3))).toBe(false);
    expect(book.current('acme')).toEqual({ version: 2, policy: policy(5) });
    expect(book.apply('acme', 3, policy(7))).toBe(true);
    expect(book.current('acme')).toEqual({ version: 3, policy: policy(7) });
  });

  it('ignores a version equal to the one it has (a republish), even with a different body', () => {
    const book = new TenantPolicyBook();
    book.apply('acme', 4, policy(4));
    expect(book.apply('acme', 4, policy(9))).toBe(false);
    expect(book.policyOf('acme')).toEqual(policy(4));
  });

  it('keeps tenants apart', () => {
    const book = new TenantPolicyBook();
    book.apply('acme', 5, policy(5));
    book.apply('globex', 1, policy(1));
    expect(book.versionOf('acme')).toBe(5);
    expect(book.versionOf('globex')).toBe(1);
    expect(book.policyOf('initech')).toEqual(DEFAULT_TENANT_POLICY);
    expect(book.tenants).toBe(2);
  });
});

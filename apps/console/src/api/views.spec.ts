import { mayAdminister, mayReadAttempts, viewsFor } from './views';

describe('viewsFor', () => {
  it('shows each role the views its API calls allow', () => {
    expect(viewsFor({ kind: 'tenant', tenantId: 'a', role: 'reviewer', keyId: 'k' })).toEqual(['reviews']);
    expect(viewsFor({ kind: 'tenant', tenantId: 'a', role: 'auditor', keyId: 'k' })).toEqual([
      'tasks',
      'audit',
      'spend',
      'webhooks',
    ]);
    expect(viewsFor({ kind: 'tenant', tenantId: 'a', role: 'admin', keyId: 'k' })).toEqual([
      'reviews',
      'spend',
      'webhooks',
    ]);
    expect(viewsFor({ kind: 'tenant', tenantId: 'a', role: 'submitter', keyId: 'k' })).toEqual([]);
    expect(viewsFor({ kind: 'platform-auditor' })).toEqual(['tasks', 'audit']);
    expect(viewsFor({ kind: 'platform-admin' })).toEqual(['spend', 'webhooks']);
  });

  it('lets admins only administer', () => {
    expect(mayAdminister({ kind: 'tenant', tenantId: 'a', role: 'admin', keyId: 'k' })).toBe(true);
    expect(mayAdminister({ kind: 'platform-admin' })).toBe(true);
    expect(mayAdminister({ kind: 'tenant', tenantId: 'a', role: 'auditor', keyId: 'k' })).toBe(false);
  });

  it("lets reviewers only read a waiting task's attempts", () => {
    expect(mayReadAttempts({ kind: 'tenant', tenantId: 'a', role: 'reviewer', keyId: 'k' })).toBe(true);
    expect(mayReadAttempts({ kind: 'tenant', tenantId: 'a', role: 'admin', keyId: 'k' })).toBe(false);
    expect(mayReadAttempts({ kind: 'platform-auditor' })).toBe(false);
  });
});

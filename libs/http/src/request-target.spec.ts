import { checkRequestTarget } from './request-target';

describe('checkRequestTarget', () => {
  it('accepts a path with its query', () => {
    expect(checkRequestTarget('/v1/audit/verify?tenantId=a&x=%2F')).toEqual({
      ok: true,
      target: { path: '/v1/audit/verify', search: '?tenantId=a&x=%2F' },
    });
    expect(checkRequestTarget('/')).toEqual({ ok: true, target: { path: '/', search: '' } });
  });

  it.each([
    ['http://127.0.0.1:9999/v1/audit/verify', /absolute-form/],
    ['HTTPS://evil.example/v1/ledger', /absolute-form/],
    ['127.0.0.1:9999', /authority-form/],
    ['evil.example:443', /authority-form/],
    ['*', /asterisk-form/],
    ['//127.0.0.1:9999/v1/audit/verify', /must not start with \/\//],
    ['/v1/audit/../ledger/budgets', /dot segments/],
    ['/v1/audit/./verify', /dot segments/],
    ['/v1/audit/%2e%2e/ledger', /dot segments/],
    ['/v1/audit/%2E%2E%2Fledger', /dot segments/],
    ['/v1/audit/..%5Cledger', /dot segments/],
    ['/v1/audit/a%5Cb', /backslash/],
    ['/v1/audit/%E0%A4%A', /percent-encoding/],
    ['/v1/tasks/%00', /NUL/],
  ])('refuses %s', (raw, reason) => {
    const check = checkRequestTarget(raw);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(reason);
  });

  it('keeps dots that are part of a segment name', () => {
    expect(checkRequestTarget('/v1/tasks/a..b/.well-known').ok).toBe(true);
  });
});

import {
  PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS,
  type SignedPrincipalRequest,
  signPrincipal,
  splitRequestTarget,
  verifyPrincipalSignature,
} from './principal-signature';

const KEY = 'ledger-key-0123456789abcdef';
const NOW = 1_764_550_000;
const request: SignedPrincipalRequest = {
  service: 'ledger',
  method: 'PUT',
  path: '/v1/ledger/budgets',
  query: 'tenantId=acme',
  body: Buffer.from('{"monthlyLimitMicroUsd":1000}'),
  principal: JSON.stringify({ kind: 'tenant', tenantId: 'acme', role: 'admin', keyId: 'k1' }),
};
const signed = signPrincipal(KEY, request, NOW + 30);

const refusal = (check: ReturnType<typeof verifyPrincipalSignature>) =>
  check.ok ? 'accepted' : check.reason;

describe('principal signature', () => {
  it('accepts the request it was made for, until its expiry', () => {
    expect(verifyPrincipalSignature(KEY, request, signed, NOW)).toMatchObject({
      ok: true,
      expiresAtSeconds: NOW + 30,
    });
    expect(verifyPrincipalSignature(KEY, request, signed, NOW + 30).ok).toBe(true);
  });

  it('gives each signature its own nonce, so two identical requests are told apart', () => {
    const again = signPrincipal(KEY, request, NOW + 30);
    expect(again).not.toBe(signed);
    const first = verifyPrincipalSignature(KEY, request, signed, NOW);
    const second = verifyPrincipalSignature(KEY, request, again, NOW);
    expect(first.ok && second.ok && first.nonce !== second.nonce).toBe(true);
  });

  it('refuses a signature made with another key', () => {
    const forged = signPrincipal('another-key-0123456789abcdef', request, NOW + 30);
    expect(refusal(verifyPrincipalSignature(KEY, request, forged, NOW))).toMatch(
      /does not sign this request/,
    );
  });

  it.each<[string, Partial<SignedPrincipalRequest>]>([
    ['method', { method: 'DELETE' }],
    ['path', { path: '/v1/ledger/budgets/acme' }],
    ['query', { query: 'tenantId=globex' }],
    ['query removed', { query: '' }],
    ['body', { body: Buffer.from('{"monthlyLimitMicroUsd":9000}') }],
    ['body re-encoded (same JSON, other bytes)', { body: Buffer.from('{ "monthlyLimitMicroUsd": 1000 }') }],
    ['body removed', { body: undefined }],
    ['principal', { principal: JSON.stringify({ kind: 'platform-admin' }) }],
    ['service', { service: 'audit' }],
  ])('refuses the signature when the %s differs from what was signed', (_what, change) => {
    expect(refusal(verifyPrincipalSignature(KEY, { ...request, ...change }, signed, NOW))).toMatch(
      /does not sign this request/,
    );
  });

  it('treats no body and an empty body alike', () => {
    const get = { ...request, method: 'GET', body: undefined };
    expect(
      verifyPrincipalSignature(KEY, { ...get, body: Buffer.alloc(0) }, signPrincipal(KEY, get, NOW + 5), NOW)
        .ok,
    ).toBe(true);
  });

  it('refuses an expired signature', () => {
    expect(refusal(verifyPrincipalSignature(KEY, request, signed, NOW + 31))).toMatch(/expired/);
    const old = signPrincipal(KEY, request, NOW - 60);
    expect(refusal(verifyPrincipalSignature(KEY, request, old, NOW))).toMatch(/expired/);
  });

  it('refuses an expiry further ahead than the longest allowed lifetime', () => {
    const limit = signPrincipal(KEY, request, NOW + PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS);
    expect(verifyPrincipalSignature(KEY, request, limit, NOW).ok).toBe(true);
    const far = signPrincipal(KEY, request, NOW + PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS + 1);
    expect(refusal(verifyPrincipalSignature(KEY, request, far, NOW))).toMatch(/ahead/);
  });

  it('refuses a changed expiry, even an earlier one', () => {
    const earlier = signed.replace(`expires=${NOW + 30}`, `expires=${NOW + 10}`);
    expect(refusal(verifyPrincipalSignature(KEY, request, earlier, NOW))).toMatch(/does not sign/);
  });

  it.each([
    ['missing', undefined, /missing/],
    ['empty', '', /malformed/],
    ['a bare token', KEY, /malformed/],
    ['an unknown version', signed.replace(/^v1;/, 'v2;'), /malformed/],
    ['a truncated MAC', signed.slice(0, -1), /malformed/],
    ['a non-numeric expiry', signed.replace(/expires=\d+/, 'expires=soon'), /malformed/],
    ['trailing fields', `${signed};extra=1`, /malformed/],
  ])('refuses a header that is %s', (_what, header, reason) => {
    expect(refusal(verifyPrincipalSignature(KEY, request, header, NOW))).toMatch(reason);
  });
});

describe('splitRequestTarget', () => {
  it('splits at the first ? and keeps the query as sent', () => {
    expect(splitRequestTarget('/v1/audit/verify')).toEqual({ path: '/v1/audit/verify', query: '' });
    expect(splitRequestTarget('/v1/audit/events?a=1&b=%3F?c')).toEqual({
      path: '/v1/audit/events',
      query: 'a=1&b=%3F?c',
    });
  });
});

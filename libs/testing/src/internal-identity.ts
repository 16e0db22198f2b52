import {
  PRINCIPAL_HEADER,
  PRINCIPAL_SIGNATURE_HEADER,
  PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS,
  type Principal,
  signPrincipal,
  splitRequestTarget,
} from '@deliberate/contracts';

// Tests that call the ledger, webhooks or audit service directly sign as the gateway's proxy does; the forgeries
// are every way of claiming an identity without that signature, which each service must refuse with 401.

/** A request to a service behind the gateway, as the gateway would forward it. */
export interface InternalRequest {
  /** The service's key (`LEDGER_INTERNAL_TOKEN`, ...). */
  readonly key: string;
  /** `ledger`, `webhooks` or `audit`. */
  readonly service: string;
  readonly method: string;
  /** Path and query as sent, e.g. `/v1/audit/verify?tenantId=acme`. */
  readonly target: string;
  /** The body exactly as sent. */
  readonly body?: string;
  readonly principal: Principal;
}

/** The principal header and its signature, valid for `ttlSeconds` (or until `expiresAtSeconds`). */
export function signedInternalHeaders(
  r: InternalRequest,
  options: { ttlSeconds?: number; expiresAtSeconds?: number } = {},
): Record<string, string> {
  const principal = JSON.stringify(r.principal);
  const expiresAtSeconds = options.expiresAtSeconds ?? nowSeconds() + (options.ttlSeconds ?? 30);
  const { path, query } = splitRequestTarget(r.target);
  const signature = signPrincipal(
    r.key,
    {
      service: r.service,
      method: r.method,
      path,
      query,
      body: r.body === undefined ? undefined : Buffer.from(r.body),
      principal,
    },
    expiresAtSeconds,
  );
  return { [PRINCIPAL_HEADER]: principal, [PRINCIPAL_SIGNATURE_HEADER]: signature };
}

export interface ForgedInternalRequest {
  readonly name: string;
  readonly method: string;
  readonly target: string;
  readonly body: string | undefined;
  readonly headers: Record<string, string>;
  /** What the service's 401 must say, so a refusal for another reason does not pass. */
  readonly refusal: RegExp;
}

// The header that alone used to prove a call came from the gateway.
const LEGACY_TOKEN_HEADER = 'x-deliberate-internal-token';

/**
 * Every way to claim `claimed` (or the request's own principal) without the gateway's signature over this exact
 * request. Build them right before sending: they are signed against the clock.
 */
export function forgedInternalRequests(r: InternalRequest, claimed: Principal): ForgedInternalRequest[] {
  const { path, query } = splitRequestTarget(r.target);
  const send = { method: r.method, target: r.target, body: r.body };
  const now = nowSeconds();
  const otherMethod = r.method === 'GET' ? 'POST' : 'GET';
  const otherBody =
    r.body === undefined
      ? { signed: { body: '{"forged":true}' }, sent: undefined }
      : { signed: {}, sent: JSON.stringify({ ...(JSON.parse(r.body) as object), forged: true }) };
  const doesNotSign = /does not sign this request/;
  return [
    {
      name: 'the static shared token alone',
      ...send,
      headers: { [LEGACY_TOKEN_HEADER]: r.key, [PRINCIPAL_HEADER]: JSON.stringify(claimed) },
      refusal: /missing x-deliberate-principal-signature/,
    },
    {
      name: 'a signature made with a wrong key',
      ...send,
      headers: signedInternalHeaders({ ...r, key: `${r.key}-wrong`, principal: claimed }),
      refusal: doesNotSign,
    },
    {
      name: 'a signature for another service',
      ...send,
      headers: signedInternalHeaders({ ...r, service: `not-${r.service}`, principal: claimed }),
      refusal: doesNotSign,
    },
    {
      name: 'a principal changed after signing',
      ...send,
      headers: {
        ...signedInternalHeaders(r),
        [PRINCIPAL_HEADER]: JSON.stringify(claimed),
      },
      refusal: doesNotSign,
    },
    {
      name: 'a signature for another method',
      ...send,
      headers: signedInternalHeaders({ ...r, method: otherMethod, principal: claimed }),
      refusal: doesNotSign,
    },
    {
      name: 'a signature for another path',
      ...send,
      headers: signedInternalHeaders({
        ...r,
        target: `${path}/elsewhere${query ? `?${query}` : ''}`,
        principal: claimed,
      }),
      refusal: doesNotSign,
    },
    {
      name: 'a signature for another query',
      ...send,
      target: `${r.target}${query ? '&' : '?'}tenantId=forged-tenant`,
      headers: signedInternalHeaders({ ...r, principal: claimed }),
      refusal: doesNotSign,
    },
    {
      name: 'a signature for another body',
      ...send,
      body: otherBody.sent,
      headers: signedInternalHeaders({ ...r, ...otherBody.signed, principal: claimed }),
      refusal: doesNotSign,
    },
    {
      name: 'an expired signature',
      ...send,
      headers: signedInternalHeaders({ ...r, principal: claimed }, { expiresAtSeconds: now - 60 }),
      refusal: /expired/,
    },
    {
      name: 'an expiry too far ahead',
      ...send,
      headers: signedInternalHeaders(
        { ...r, principal: claimed },
        { expiresAtSeconds: now + PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS + 60 },
      ),
      refusal: /ahead/,
    },
    {
      name: 'a malformed signature',
      ...send,
      headers: {
        [PRINCIPAL_HEADER]: JSON.stringify(claimed),
        [PRINCIPAL_SIGNATURE_HEADER]: `v1;expires=${now + 30};mac=${r.key}`,
      },
      refusal: /malformed/,
    },
  ];
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

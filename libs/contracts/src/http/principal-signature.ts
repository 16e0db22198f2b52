import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// The gateway vouches for a caller by signing the principal together with the exact request it forwards, with a key
// per service. A service believes the principal only for that request (method, path, query, body bytes), that
// service, and until a near expiry: a leaked key-less header, or a captured request, cannot be reused elsewhere.

export const PRINCIPAL_SIGNATURE_HEADER = 'x-deliberate-principal-signature';

/** The furthest ahead an expiry may be; a later one is refused, so no signature lives longer than this. */
export const PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS = 300;

/** What a signature covers besides its expiry and nonce. */
export interface SignedPrincipalRequest {
  /** The service the request is for (`ledger`, `webhooks`, `audit`): a signature for one is refused by another. */
  readonly service: string;
  readonly method: string;
  /** The path as sent on the wire, without the query. */
  readonly path: string;
  /** The query as sent on the wire, without the `?`; empty when there is none. */
  readonly query: string;
  /** The body bytes as sent; undefined or empty when there is no body. */
  readonly body: Uint8Array | undefined;
  /** The exact value of the principal header. */
  readonly principal: string;
}

export type PrincipalSignatureCheck =
  | { readonly ok: true; readonly expiresAtSeconds: number; readonly nonce: string }
  | { readonly ok: false; readonly reason: string };

const VERSION = 'v1';
const HEADER_PATTERN = /^v1;expires=(\d{1,12});nonce=([A-Za-z0-9_-]{16,64});mac=([A-Za-z0-9_-]{43})$/;

/** The value of the signature header for this request, valid until `expiresAtSeconds` (epoch seconds). */
export function signPrincipal(
  key: string,
  request: SignedPrincipalRequest,
  expiresAtSeconds: number,
  nonce: string = randomBytes(16).toString('base64url'),
): string {
  return `${VERSION};expires=${expiresAtSeconds};nonce=${nonce};mac=${mac(key, request, expiresAtSeconds, nonce)}`;
}

/**
 * Whether `header` signs exactly this request with `key`, and is neither expired nor dated further ahead than
 * {@link PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS}. The MAC is checked before the dates, so a forger learns nothing else.
 */
export function verifyPrincipalSignature(
  key: string,
  request: SignedPrincipalRequest,
  header: string | undefined,
  nowSeconds: number,
): PrincipalSignatureCheck {
  if (header === undefined) return { ok: false, reason: `missing ${PRINCIPAL_SIGNATURE_HEADER} header` };
  const match = HEADER_PATTERN.exec(header);
  if (!match) return { ok: false, reason: `malformed ${PRINCIPAL_SIGNATURE_HEADER} header` };
  const [, expires, nonce, received] = match as unknown as [string, string, string, string];
  const expiresAtSeconds = Number(expires);
  const expected = Buffer.from(mac(key, request, expiresAtSeconds, nonce), 'base64url');
  if (!timingSafeEqual(Buffer.from(received, 'base64url'), expected)) {
    return { ok: false, reason: `${PRINCIPAL_SIGNATURE_HEADER} does not sign this request for this service` };
  }
  if (expiresAtSeconds < nowSeconds) {
    return { ok: false, reason: `${PRINCIPAL_SIGNATURE_HEADER} expired at ${expiresAtSeconds}` };
  }
  if (expiresAtSeconds > nowSeconds + PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS) {
    return {
      ok: false,
      reason: `${PRINCIPAL_SIGNATURE_HEADER} expires more than ${PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS} s ahead`,
    };
  }
  return { ok: true, expiresAtSeconds, nonce };
}

/** Splits a request target as sent on the wire (`/path?query`) into the path and the query without its `?`. */
export function splitRequestTarget(target: string): { path: string; query: string } {
  const at = target.indexOf('?');
  return at === -1 ? { path: target, query: '' } : { path: target.slice(0, at), query: target.slice(at + 1) };
}

function mac(key: string, r: SignedPrincipalRequest, expiresAtSeconds: number, nonce: string): string {
  const bodyDigest = createHash('sha256')
    .update(r.body ?? new Uint8Array())
    .digest('hex');
  // A JSON array keeps the fields apart: no value can end one field and start the next.
  const signed = JSON.stringify([
    VERSION,
    r.service,
    r.method.toUpperCase(),
    r.path,
    r.query,
    bodyDigest,
    r.principal,
    expiresAtSeconds,
    nonce,
  ]);
  return createHmac('sha256', key).update(signed).digest('base64url');
}

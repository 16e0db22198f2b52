import type { Principal } from '@deliberate/contracts';
import { forgedInternalRequests, type InternalRequest, signedInternalHeaders } from './internal-identity';

/** A service behind the gateway, as its tests reach it: its URL, its internal key and its name. */
export interface InternalService {
  readonly url: string;
  readonly key: string;
  /** `ledger`, `webhooks` or `audit`. */
  readonly service: string;
}

export interface HttpResult<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

export interface InternalCallOptions {
  /** Defaults to a platform admin; `null` sends no identity at all. */
  principal?: Principal | null;
  /** Replaces the signed headers (forgeries). */
  identity?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
}

export const PLATFORM_ADMIN: Principal = { kind: 'platform-admin' };

export const tenantPrincipal = (
  tenantId: string,
  role: 'admin' | 'auditor' | 'submitter' | 'reviewer' = 'admin',
): Principal => ({ kind: 'tenant', tenantId, role, keyId: `key-${tenantId}-${role}` });

/** Calls the service as the gateway's proxy would: the principal signed for this request with the service's key. */
export async function internalHttp<T = Record<string, unknown>>(
  target: InternalService,
  method: string,
  path: string,
  options: InternalCallOptions = {},
): Promise<HttpResult<T>> {
  const body = options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
  const headers: Record<string, string> =
    options.identity ??
    (options.principal === null
      ? {}
      : signedInternalHeaders({
          key: target.key,
          service: target.service,
          method,
          target: path,
          ...(body !== undefined ? { body } : {}),
          principal: options.principal ?? PLATFORM_ADMIN,
        }));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${target.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  return readResult<T>(res);
}

/** The status, headers and text of a response, and its JSON (`{}` when it is not JSON). */
export async function readResult<T>(res: Response): Promise<HttpResult<T>> {
  const text = await res.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = {};
  }
  return { status: res.status, headers: res.headers, text, body: parsed as T };
}

export interface ForgeryOutcome {
  forgery: string;
  status: number;
  /** 'as expected' when the refusal says why it refused, else the service's message. */
  message: unknown;
}

/** Sends every forgery of `request` claiming `claimed` to the service at `url`; one outcome per forgery. */
export async function sendForgeries(
  url: string,
  request: InternalRequest,
  claimed: Principal,
): Promise<ForgeryOutcome[]> {
  const outcomes: ForgeryOutcome[] = [];
  for (const forged of forgedInternalRequests(request, claimed)) {
    const res = await internalHttp(
      { url, key: request.key, service: request.service },
      forged.method,
      forged.target,
      { identity: forged.headers, ...(forged.body !== undefined ? { rawBody: forged.body } : {}) },
    );
    const message = String(res.body['message']);
    outcomes.push({
      forgery: forged.name,
      status: res.status,
      message: forged.refusal.test(message) ? 'as expected' : message,
    });
  }
  return outcomes;
}

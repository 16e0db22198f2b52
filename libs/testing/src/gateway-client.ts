import { readResult, type HttpResult } from './internal-http';

// A client of the public gateway as a caller sees it: a bearer key, JSON bodies, and tenants and keys created
// through the admin API, as an operator would.

export interface GatewayCallOptions {
  key?: string;
  body?: unknown;
  /** Sent as is, instead of `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function gatewayHttp<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  options: GatewayCallOptions = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers['authorization'] = `Bearer ${options.key}`;
  const body = options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  return readResult<T>(res);
}

/** Creates a tenant through the admin API; throws with the gateway's answer when it is not 201. */
export async function createGatewayTenant(
  url: string,
  adminKey: string,
  id: string,
  name = `Tenant ${id}`,
): Promise<void> {
  const res = await gatewayHttp(url, 'POST', '/v1/admin/tenants', { key: adminKey, body: { id, name } });
  if (res.status !== 201) throw new Error(`tenant ${id}: ${res.status} ${res.text}`);
}

/** Creates an API key of `role` for the tenant and returns the key. */
export async function createGatewayApiKey(
  url: string,
  adminKey: string,
  tenantId: string,
  role: string,
): Promise<string> {
  const res = await gatewayHttp<{ key: string }>(url, 'POST', `/v1/admin/tenants/${tenantId}/api-keys`, {
    key: adminKey,
    body: { role },
  });
  if (res.status !== 201) throw new Error(`key ${role} of ${tenantId}: ${res.status} ${res.text}`);
  return res.body.key;
}

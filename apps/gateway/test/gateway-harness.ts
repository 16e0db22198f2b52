import { type GatewayConfig, loadGatewayConfig } from '@deliberate/gateway/config';
import { createGatewayApp } from '@deliberate/gateway/create-gateway-app';
import {
  createGatewayApiKey,
  createGatewayTenant,
  type GatewayCallOptions,
  gatewayHttp,
  type HttpResult,
  listenOnFreePort,
  type ServiceUnderTest,
  startServiceUnderTest,
} from '@deliberate/testing';

/** One or more gateway replicas in this process on one fresh database and the suite's topics; no services behind. */
export interface GatewayHarness extends ServiceUnderTest<GatewayConfig> {
  /** Every replica's URL; the first is `url`. */
  urls: string[];
  adminKey: string;
  /** Calls the first replica, or the one at `options.url`. */
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: GatewayCallOptions & { url?: string },
  ): Promise<HttpResult<T>>;
  /** Creates a tenant through the admin API, and one key per role asked for; returns the keys by role. */
  createTenant(id: string, roles?: readonly string[], name?: string): Promise<Record<string, string>>;
  createKey(tenantId: string, role: string): Promise<string>;
}

export async function startGateway(
  suite: string,
  options: { adminKey: string; env?: Record<string, string>; instances?: number },
): Promise<GatewayHarness> {
  const service = await startServiceUnderTest(
    suite,
    {
      schema: 'gateway',
      config: (env) =>
        loadGatewayConfig({
          ...env,
          LOG_LEVEL: 'error',
          GATEWAY_ADMIN_API_KEY: options.adminKey,
          ...options.env,
        }),
      create: createGatewayApp,
    },
    options,
  );
  const urls = [service.url];
  for (const replica of service.apps.slice(1)) urls.push(await listenOnFreePort(replica));
  const { url } = service;
  const createKey = (tenantId: string, role: string) =>
    createGatewayApiKey(url, options.adminKey, tenantId, role);
  return {
    ...service,
    urls,
    adminKey: options.adminKey,
    call: (method, path, callOptions = {}) => gatewayHttp(callOptions.url ?? url, method, path, callOptions),
    createTenant: async (id, roles = [], name) => {
      await createGatewayTenant(url, options.adminKey, id, name);
      const keys: Record<string, string> = {};
      for (const role of roles) keys[role] = await createKey(id, role);
      return keys;
    },
    createKey,
  };
}

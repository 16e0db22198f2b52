import {
  PRINCIPAL_HEADER,
  PRINCIPAL_SIGNATURE_HEADER,
  splitRequestTarget,
  verifyPrincipalSignature,
} from '@deliberate/contracts';
import { type Receiver, startReceiver } from '@deliberate/testing';
import { request } from 'node:http';
import { type GatewayHarness, startGateway } from './gateway-harness';

// The gateway forwards /v1/ledger, /v1/webhooks and /v1/audit to their services with the caller's identity. The
// request target a client sends must never choose where that identity goes: only the configured base URL does.

/** Sends a raw request target (absolute-form, authority-form, dot segments), which fetch() cannot. */
function rawRequest(
  base: string,
  target: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path: target, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ADMIN_KEY = 'proxy-boundary-admin-key-0123456789';
const AUDITOR_KEY = 'proxy-boundary-platform-auditor-0123456789';
const LEDGER_KEY = 'proxy-boundary-ledger-token-0123456789';
const AUDIT_KEY = 'proxy-boundary-audit-token-0123456789';

describe('gateway proxy boundary', () => {
  let h: GatewayHarness;
  let gatewayUrl: string;
  let service: Receiver;
  let trap: Receiver;
  const echoPath = (url: string) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: url }),
  });

  beforeAll(async () => {
    service = await startReceiver(({ path: url }, res) => {
      if (url.startsWith('/v1/audit/export')) {
        // A slow export: one line every 50 ms, longer than the idle timeout in total but never idle that long.
        res.setHeader('content-type', 'application/x-ndjson');
        let n = 0;
        const timer = setInterval(() => {
          res.write(`${JSON.stringify({ n })}\n`);
          if (++n === 30) {
            clearInterval(timer);
            res.end();
          }
        }, 50);
        return 'handled';
      }
      if (url.startsWith('/v1/audit/hang')) return 'handled'; // never answers
      return echoPath(url);
    });
    trap = await startReceiver(({ path }) => echoPath(path));
    h = await startGateway('proxy_boundary', {
      adminKey: ADMIN_KEY,
      env: {
        GATEWAY_PLATFORM_AUDITOR_API_KEY: AUDITOR_KEY,
        GATEWAY_LEDGER_URL: service.url,
        LEDGER_INTERNAL_TOKEN: LEDGER_KEY,
        GATEWAY_WEBHOOKS_URL: service.url,
        WEBHOOKS_INTERNAL_TOKEN: 'proxy-boundary-webhooks-token-0123456789',
        GATEWAY_AUDIT_URL: service.url,
        AUDIT_INTERNAL_TOKEN: AUDIT_KEY,
        GATEWAY_PROXY_IDLE_TIMEOUT_MS: '1000',
        GATEWAY_PRINCIPAL_TTL_SECONDS: '10',
      },
    });
    gatewayUrl = h.url;
  });

  afterAll(async () => {
    await h?.close();
    await service?.close();
    await trap?.close();
  });

  beforeEach(() => {
    service.requests.length = 0;
    trap.requests.length = 0;
  });

  const auth = { authorization: `Bearer ${AUDITOR_KEY}` };
  const adminAuth = { authorization: `Bearer ${ADMIN_KEY}` };

  it('forwards an origin-form request to the configured service with the path and query', async () => {
    const res = await rawRequest(gatewayUrl, '/v1/audit/verify?tenantId=t1', auth);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ path: '/v1/audit/verify?tenantId=t1' });
    expect(service.requests).toHaveLength(1);
  });

  it('signs the caller for the one service it forwards to, over the request as that service receives it', async () => {
    const body = JSON.stringify({ monthlyLimitUsd: 5 });
    const res = await rawRequest(
      gatewayUrl,
      '/v1/ledger/budgets?tenantId=t1',
      { ...adminAuth, 'content-type': 'application/json' },
      'PUT',
      body,
    );
    expect(res.status).toBe(200);
    const sent = service.requests[0]!;
    expect(sent.headers).not.toHaveProperty('x-deliberate-internal-token');
    const principal = sent.headers[PRINCIPAL_HEADER] as string;
    expect(JSON.parse(principal)).toEqual({ kind: 'platform-admin' });
    const received = {
      service: 'ledger',
      method: sent.method,
      ...splitRequestTarget(sent.path),
      body: Buffer.from(sent.body),
      principal,
    };
    const signature = sent.headers[PRINCIPAL_SIGNATURE_HEADER] as string;
    const now = Math.floor(Date.now() / 1000);
    const check = verifyPrincipalSignature(LEDGER_KEY, received, signature, now);
    expect(check.ok && check.expiresAtSeconds - now).toBeGreaterThan(0);
    expect(check.ok && check.expiresAtSeconds - now).toBeLessThanOrEqual(10);
    // Worthless to another service, and for another request.
    expect(verifyPrincipalSignature(AUDIT_KEY, { ...received, service: 'audit' }, signature, now).ok).toBe(
      false,
    );
    expect(
      verifyPrincipalSignature(LEDGER_KEY, { ...received, query: 'tenantId=t2' }, signature, now).ok,
    ).toBe(false);
  });

  it.each([
    ['audit', '/v1/audit/verify', auth],
    ['ledger', '/v1/ledger/budgets', adminAuth],
    ['webhooks', '/v1/webhooks/endpoints', adminAuth],
  ])(
    'refuses an absolute-form target on the %s route with 400 and sends nothing anywhere',
    async (_name, path, headers) => {
      const trapTarget = `${trap.url}${path}`;
      const res = await rawRequest(gatewayUrl, trapTarget, headers);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).message).toMatch(/request target/);
      expect(trap.requests).toHaveLength(0);
      expect(service.requests).toHaveLength(0);
    },
  );

  it('refuses an absolute-form target naming the gateway itself, and on routes that are not proxied', async () => {
    const self = await rawRequest(gatewayUrl, `${gatewayUrl}/v1/audit/verify`, auth);
    expect(self.status).toBe(400);
    const tasks = await rawRequest(gatewayUrl, `${trap.url}/v1/tasks/x`, auth);
    expect(tasks.status).toBe(400);
    expect(service.requests).toHaveLength(0);
    expect(trap.requests).toHaveLength(0);
  });

  it('refuses authority-form and asterisk-form targets', async () => {
    const authority = await rawRequest(gatewayUrl, new URL(trap.url).host, auth);
    expect(authority.status).toBe(400);
    const asterisk = await rawRequest(gatewayUrl, '*', auth, 'OPTIONS');
    expect(asterisk.status).toBe(400);
    expect(trap.requests).toHaveLength(0);
  });

  it('refuses a protocol-relative path that would name another host', async () => {
    const res = await rawRequest(gatewayUrl, `//${new URL(trap.url).host}/v1/audit/verify`, auth);
    expect(res.status).toBe(400);
    expect(trap.requests).toHaveLength(0);
    expect(service.requests).toHaveLength(0);
  });

  it('refuses dot segments that would leave the route the key was authorised for', async () => {
    for (const target of [
      '/v1/audit/../ledger/budgets',
      '/v1/audit/%2e%2e/ledger/budgets',
      '/v1/audit/%2E%2E%2Fledger',
    ]) {
      const res = await rawRequest(gatewayUrl, target, auth);
      expect({ target, status: res.status }).toEqual({ target, status: 400 });
    }
    expect(service.requests).toHaveLength(0);
  });

  it('streams a long export through, bounded by an idle timeout rather than a total one', async () => {
    const res = await rawRequest(gatewayUrl, '/v1/audit/export?format=jsonl', auth);
    expect(res.status).toBe(200);
    const lines = res.body.trim().split('\n');
    expect(lines).toHaveLength(30);
    expect(JSON.parse(lines[29]!)).toEqual({ n: 29 });
  });

  it('answers 504 when the service stays silent past the idle timeout', async () => {
    const res = await rawRequest(gatewayUrl, '/v1/audit/hang', auth);
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body).message).toMatch(/audit service sent nothing for 1000 ms/);
  });
});

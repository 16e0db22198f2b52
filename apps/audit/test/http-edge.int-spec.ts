import { request } from 'node:http';
import { startAudit } from './audit-harness';

// The service's HTTP edge, before any route or identity check: standard headers, a plain request target, and no NUL
// or lone surrogate in a query string or body.

function rawGet(base: string, target: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: target }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('audit HTTP edge', () => {
  let h: Awaited<ReturnType<typeof startAudit>>;

  beforeAll(async () => {
    h = await startAudit('audit_http_edge');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('sends the standard security headers and no X-Powered-By', async () => {
    const res = await fetch(`${h.url}/health`);
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
  });

  it('refuses a NUL in a query parameter with 400 naming it', async () => {
    const res = await fetch(`${h.url}/v1/audit/verify?tenantId=t1%00`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'query.tenantId: contains a NUL character (\\u0000)' });
  });

  it('refuses an absolute-form request target with 400', async () => {
    expect(await rawGet(h.url, 'http://127.0.0.1:9/v1/audit/verify')).toBe(400);
  });
});

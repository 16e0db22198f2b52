/// <reference types="jest" />
import { request } from 'node:http';

// The HTTP edge every service shares, before any route or identity check: standard headers, a plain request
// target, and no NUL or lone surrogate in a query string or body. One suite, run against each service.

export interface HttpEdgeCase {
  /** `ledger HTTP edge`, ... */
  readonly name: string;
  readonly start: () => Promise<{ url: string; close(): Promise<void> }>;
  /** A route with a `tenantId` query parameter, e.g. `/v1/ledger/spend`. */
  readonly queryRoute: string;
  /** A route taking a JSON body whose field the refusal names; omitted for a service with no body routes. */
  readonly bodyRoute?: { method: string; path: string; body: string; field: string };
}

export function describeHttpEdge(edge: HttpEdgeCase): void {
  describe(edge.name, () => {
    let h: { url: string; close(): Promise<void> } | undefined;
    const url = () => h!.url;

    beforeAll(async () => {
      h = await edge.start();
    });

    afterAll(async () => {
      await h?.close();
    });

    it('sends the standard security headers and no X-Powered-By', async () => {
      const res = await fetch(`${url()}/health`);
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    });

    it('refuses a NUL in a query parameter with 400 naming it', async () => {
      const res = await fetch(`${url()}${edge.queryRoute}?tenantId=t1%00`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        message: 'query.tenantId: contains a NUL character (\\u0000)',
      });
    });

    const bodyRoute = edge.bodyRoute;
    if (bodyRoute) {
      it('refuses a lone surrogate in a JSON body with 400 naming the field', async () => {
        const res = await fetch(`${url()}${bodyRoute.path}?tenantId=t1`, {
          method: bodyRoute.method,
          headers: { 'content-type': 'application/json' },
          body: bodyRoute.body,
        });
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({
          message: `${bodyRoute.field}: contains a lone UTF-16 surrogate (not valid Unicode)`,
        });
      });
    }

    it('refuses an absolute-form request target with 400', async () => {
      expect(await rawGet(url(), `http://127.0.0.1:9${edge.queryRoute}`)).toBe(400);
    });
  });
}

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

import type { Request, Response } from 'express';
import { API_CONTENT_SECURITY_POLICY, securityHeaders } from './security-headers';

function run(path: string, options?: Parameters<typeof securityHeaders>[0]): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value) };
  let passed = false;
  securityHeaders(options)({ path } as Request, res as unknown as Response, () => (passed = true));
  expect(passed).toBe(true);
  return headers;
}

describe('securityHeaders', () => {
  it('gives an API answer the standard headers, a policy that allows nothing, and no caching', () => {
    expect(run('/v1/tasks')).toEqual({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': API_CONTENT_SECURITY_POLICY,
      'cache-control': 'no-store',
    });
  });

  it("gives a page and its assets the page's own policy, and lets them be cached", () => {
    const page = { pathPrefix: '/docs', contentSecurityPolicy: "default-src 'self'" };
    for (const path of ['/docs', '/docs/assets/swagger-ui.css']) {
      const headers = run(path, { page });
      expect(headers['content-security-policy']).toBe("default-src 'self'");
      expect(headers['cache-control']).toBeUndefined();
      expect(headers['x-frame-options']).toBe('DENY');
    }
  });

  it('does not treat a path that merely starts with the same letters as the page', () => {
    const page = { pathPrefix: '/docs', contentSecurityPolicy: "default-src 'self'" };
    expect(run('/docsearch', { page })['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
  });
});

import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

// The headers every response of every service carries. An API answers JSON only: nothing may frame it, run
// from it, or keep a copy of it. A documentation page (Swagger UI) may name its own, looser policy.

/** For JSON answers: no script, style, frame or form may come from, or embed, a response of the API. */
export const API_CONTENT_SECURITY_POLICY =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface SecurityHeadersOptions {
  /** Paths under this prefix (a page and its assets) get `contentSecurityPolicy` and may be cached. */
  page?: { pathPrefix: string; contentSecurityPolicy: string };
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function securityHeaders(options: SecurityHeadersOptions = {}) {
  const page = options.page;
  return (req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (page && isUnder(req.path, page.pathPrefix)) {
      res.setHeader('Content-Security-Policy', page.contentSecurityPolicy);
    } else {
      res.setHeader('Content-Security-Policy', API_CONTENT_SECURITY_POLICY);
      // Answers hold tenants' tasks and keys: no browser or proxy may keep them.
      res.setHeader('Cache-Control', 'no-store');
    }
    next();
  };
}

/** Installs the headers first, so that even an answer from the body parser or a 404 carries them. */
export function installSecurityHeaders(app: INestApplication, options: SecurityHeadersOptions = {}): void {
  (app.getHttpAdapter().getInstance() as { disable(setting: string): void }).disable('x-powered-by');
  app.use(securityHeaders(options));
}

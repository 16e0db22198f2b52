import { DependencyUnavailableException } from '@deliberate/http';
import { dependencyOutage } from '@deliberate/retry';
import type { NextFunction, Request, Response } from 'express';
import type { RequestAuthenticator } from './request-authenticator';

// Runs before the JSON body parser. Every route that takes a body needs an API key, so a request with a body and no
// valid key is refused before a byte of the body is read or parsed, and a key over its rate never has its body
// parsed either. The connection is closed after such an answer, so the unread body is not drained either.
export function authenticateBeforeBody(authenticator: RequestAuthenticator) {
  return (req: Request, res: Response, next: NextFunction): void => {
    authenticator.authenticate(req).then(
      (authentication) => {
        const hasBody =
          Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
        if (authentication.outcome === 'limited') {
          res.setHeader('Retry-After', String(authentication.retryAfterSeconds));
          refuse(res, hasBody, 429, 'Too Many Requests', authentication.message);
          return;
        }
        if (hasBody && authentication.outcome !== 'authenticated') {
          const message =
            authentication.outcome === 'refused'
              ? authentication.message
              : 'missing Authorization header: send "Authorization: Bearer <api key>"';
          refuse(res, hasBody, 401, 'Unauthorized', message);
          return;
        }
        next();
      },
      (e: unknown) => {
        // Runs before Nest's filters: an unreachable database while looking up the key or its rate is answered here.
        const outage = dependencyOutage(e);
        if (!outage) return next(e);
        const unavailable = new DependencyUnavailableException(outage.dependency);
        res.setHeader('Retry-After', String(unavailable.retryAfterSeconds));
        const hasBody =
          Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
        if (hasBody) res.setHeader('Connection', 'close');
        res.status(503).json(unavailable.getResponse());
      },
    );
  };
}

function refuse(res: Response, hasBody: boolean, statusCode: number, error: string, message: string): void {
  if (hasBody) res.setHeader('Connection', 'close');
  res.status(statusCode).json({ statusCode, error, message });
}

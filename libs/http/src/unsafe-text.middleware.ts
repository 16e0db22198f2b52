import { findUnsafeText, type UnsafeText } from '@deliberate/contracts';
import type { NextFunction, Request, Response } from 'express';

// NUL and lone surrogates cannot be stored by Postgres nor carried by Kafka consumers: every string a request
// brings in (body, query, headers) is checked once, at the edge, and refused with 400 naming where it sits.
// The path is `refuseNonOriginTargets`'s to check.

const DESCRIPTION: Record<UnsafeText['problem'], string> = {
  NUL: 'contains a NUL character (\\u0000)',
  'lone surrogate': 'contains a lone UTF-16 surrogate (not valid Unicode)',
};

export function unsafeTextMessage(found: UnsafeText): string {
  return `${found.path === '(root)' ? 'body' : found.path}: ${DESCRIPTION[found.problem]}`;
}

function refuse(res: Response, found: UnsafeText): void {
  res.status(400).json({ statusCode: 400, error: 'Bad Request', message: unsafeTextMessage(found) });
}

/** Refuses a parsed JSON body holding an unsafe string; install right after the JSON parser. */
export function refuseUnsafeBodyText(req: Request, res: Response, next: NextFunction): void {
  const found = req.body === undefined ? null : findUnsafeText(req.body as unknown);
  if (found) return refuse(res, found);
  next();
}

/** Refuses a request whose query string or headers hold an unsafe string, before any route reads them. */
export function refuseUnsafeRequestText(req: Request, res: Response, next: NextFunction): void {
  const found = findUnsafeText(req.query, 'query') ?? findUnsafeText(req.headers, 'header');
  if (found) return refuse(res, found);
  next();
}

import type { NextFunction, Request, Response } from 'express';

// A request target must be a plain path (origin-form). Absolute-form (`http://host/...`), authority-form
// (`host:port`), asterisk-form and protocol-relative paths could otherwise choose where a proxied request goes, and
// dot segments could leave the route a key was authorised for. Refused before routing, for every route.

export interface OriginFormTarget {
  /** The path as sent (still percent-encoded). */
  readonly path: string;
  /** The query including its `?`, or ''. */
  readonly search: string;
}

export type RequestTargetCheck = { ok: true; target: OriginFormTarget } | { ok: false; reason: string };

export function checkRequestTarget(raw: string): RequestTargetCheck {
  if (raw === '*') return { ok: false, reason: 'asterisk-form request target (*) is not accepted' };
  if (!raw.startsWith('/')) {
    const form = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? 'absolute-form' : 'authority-form';
    return { ok: false, reason: `${form} request target is not accepted: send a path such as /v1/tasks` };
  }
  if (raw.startsWith('//')) return { ok: false, reason: 'request target must not start with //' };
  const queryAt = raw.indexOf('?');
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const search = queryAt === -1 ? '' : raw.slice(queryAt);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { ok: false, reason: 'request target has malformed percent-encoding' };
  }
  if (decoded.includes('\u0000')) return { ok: false, reason: 'request target contains a NUL character' };
  if (decoded.split(/[\\/]/).some((segment) => segment === '.' || segment === '..')) {
    return { ok: false, reason: 'request target must not contain dot segments (. or ..)' };
  }
  if (decoded.includes('\\')) return { ok: false, reason: 'request target must not contain a backslash' };
  return { ok: true, target: { path, search } };
}

/** Express middleware: the first thing every service runs. */
export function refuseNonOriginTargets(req: Request, res: Response, next: NextFunction): void {
  const check = checkRequestTarget(req.originalUrl);
  if (check.ok) return next();
  res.status(400).json({ statusCode: 400, error: 'Bad Request', message: check.reason });
}

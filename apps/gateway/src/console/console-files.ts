import express, { type NextFunction, type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Serves the built console (a single-page app) at /console: its hashed assets for a year, index.html for every
// other path under /console (the app routes itself) and never cached, so a new build is picked up at once.

export const CONSOLE_PATH = '/console';

// The console's own bundle and style sheet, the API it calls on the same origin, and chart canvases; no inline
// script or style, nothing from elsewhere, and nothing may frame it.
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Hashed files (Vite writes them as assets/<name>-<hash>.<ext>, the hash 8 or more characters) may be kept for good. */
export function isHashedAsset(relativePath: string): boolean {
  const path = relativePath.startsWith('/') ? relativePath.slice(1) : relativePath;
  if (!path.startsWith('assets/')) return false;
  const file = path.slice('assets/'.length);
  const dot = file.lastIndexOf('.');
  const dash = file.lastIndexOf('-', dot);
  if (file.includes('/') || dot === -1 || dash <= 0) return false;
  return /^[A-Za-z0-9_]{8,}$/.test(file.slice(dash + 1, dot));
}

/** The path below /console, or null when the request is not for the console. */
export function consoleRelativePath(path: string): string | null {
  if (path === CONSOLE_PATH) return '/';
  return path.startsWith(`${CONSOLE_PATH}/`) ? path.slice(CONSOLE_PATH.length) : null;
}

function problem(res: Response, statusCode: number, error: string, message: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.status(statusCode).json({ statusCode, error, message });
}

export function serveConsole(dir: string) {
  const files = express.static(dir, {
    index: false,
    redirect: false,
    dotfiles: 'deny',
    fallthrough: true,
  });
  const index = join(dir, 'index.html');
  return (req: Request, res: Response, next: NextFunction): void => {
    const relative = consoleRelativePath(req.path);
    if (relative === null) return next();
    res.setHeader('Content-Security-Policy', CONSOLE_CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return problem(res, 405, 'Method Not Allowed', 'the console is read with GET');
    }
    if (!existsSync(index)) {
      return problem(
        res,
        503,
        'Service Unavailable',
        `the console is not built (no index.html in CONSOLE_DIR=${dir}): run npm run build`,
      );
    }
    const sendIndex = () => {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index, { dotfiles: 'deny' });
    };
    if (relative === '/' || relative === '/index.html') return sendIndex();
    res.setHeader('Cache-Control', isHashedAsset(relative) ? IMMUTABLE : 'no-cache');
    // express.static reads below `dir` only (it refuses `..` after decoding, and the target was checked before).
    req.url = relative + (req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '');
    files(req, res, (e?: unknown) => {
      if (e) return next(e);
      // A missing (or refused) file with an extension, or a dotfile, is no app route: 404, not the page. The path
      // is read decoded, as the file lookup read it (refuseNonOriginTargets has refused malformed encodings).
      const name = decodeURIComponent(relative).split('/').pop() ?? '';
      if (name.includes('.')) {
        return problem(res, 404, 'Not Found', `no console file ${relative}`);
      }
      sendIndex();
    });
  };
}

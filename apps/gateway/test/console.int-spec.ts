import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_CONTENT_SECURITY_POLICY } from '@deliberate/gateway/console/console-files';
import { type GatewayHarness, startGateway } from './gateway-harness';

// The console's files at /console (CONSOLE_DIR): the page for every app route, hashed assets cached for good, a
// strict policy on all of it, nothing outside the folder whatever the path says; and GET /v1/me for every key.

const ADMIN_KEY = 'console-files-admin-key-0123456789';
const TENANT = 'console-files';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path exactly as written: fetch would resolve dot segments before sending. */
function raw(url: string, path: string, method = 'GET'): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the console at /console', () => {
  let h: GatewayHarness;
  let root: string;
  let dir: string;
  let keys: Record<string, string>;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'console-files-'));
    dir = join(root, 'dist');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'assets', 'index-AbC123xy.js'), 'console.log(1)');
    writeFileSync(join(dir, '.env'), 'SECRET=dotfile');
    writeFileSync(join(root, 'secret.txt'), 'outside the console');
    h = await startGateway('console-files', { adminKey: ADMIN_KEY, env: { CONSOLE_DIR: dir } });
    keys = await h.createTenant(TENANT, ['submitter', 'auditor', 'admin', 'reviewer']);
  });

  afterAll(async () => {
    await h?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the page for the app and its routes, never cached, under a strict policy', async () => {
    for (const path of [
      '/console',
      '/console/',
      '/console/reviews',
      '/console/tasks/0192f7a0-1111-7000-8000-000000000001',
    ]) {
      const res = await raw(h.url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.body).toContain('<title>console</title>');
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CONTENT_SECURITY_POLICY);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(CONSOLE_CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONSOLE_CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
  });

  it('keeps hashed assets for a year and answers a missing asset 404, not the page', async () => {
    const asset = await raw(h.url, '/console/assets/index-AbC123xy.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await raw(h.url, '/console/assets/index-Missing1.js');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({
      statusCode: 404,
      message: 'no console file /assets/index-Missing1.js',
    });
  });

  it('never serves a file outside the folder, nor a dotfile', async () => {
    for (const path of [
      '/console/../console-files-secret.txt',
      '/console/..%2fsecret.txt',
      '/console/%2e%2e/secret.txt',
      '/console/%2E%2E%2Fsecret.txt',
      '/console/assets/%2e%2e/%2e%2e/secret.txt',
      '/console/..%5csecret.txt',
      '/console/index.html%00.js',
      '/console/%00',
      '/console/.env',
      '/console/%2eenv',
    ]) {
      const res = await raw(h.url, path);
      expect({
        path,
        leaked: res.body.includes('outside the console') || res.body.includes('SECRET='),
      }).toEqual({
        path,
        leaked: false,
      });
      expect({ path, refused: [400, 403, 404].includes(res.status) }).toEqual({ path, refused: true });
    }
  });

  it('answers only GET and HEAD', async () => {
    const res = await raw(h.url, '/console/', 'POST');
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, HEAD');
    expect((await raw(h.url, '/console/', 'HEAD')).status).toBe(200);
  });

  it('says clearly when the console was not built', async () => {
    rmSync(join(dir, 'index.html'));
    try {
      const res = await raw(h.url, '/console/reviews');
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toMatchObject({
        statusCode: 503,
        message: expect.stringContaining('not built') as string,
      });
    } finally {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    }
  });

  it('tells every key who it is, and no one without a key', async () => {
    for (const role of ['submitter', 'auditor', 'admin', 'reviewer']) {
      const me = await h.call('GET', '/v1/me', { key: keys[role]! });
      expect(me.status).toBe(200);
      expect(me.body).toEqual({
        kind: 'tenant',
        tenantId: TENANT,
        role,
        keyId: expect.any(String) as string,
      });
    }
    expect((await h.call('GET', '/v1/me', { key: ADMIN_KEY })).body).toEqual({ kind: 'platform-admin' });
    expect((await h.call('GET', '/v1/me')).status).toBe(401);
    expect((await h.call('GET', '/v1/me', { key: 'dlb_not-a-key-at-all-0123456789' })).status).toBe(401);
  });
});

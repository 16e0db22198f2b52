import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '@deliberate/testing';
import type { BrowserContext, Page } from 'playwright-core';

// The console's browser suites: Debian's chromium driven by playwright-core, headless with a fresh profile, against
// the console the gateway serves. The console is built first when it was not (so one suite runs on its own).

const ROOT = join(__dirname, '../../..');
export const CONSOLE_DIR = join(ROOT, 'apps/console/dist');
export const SCREENSHOT_DIR = join(ROOT, '.local/console-screenshots');

export function ensureConsoleBuilt(): void {
  if (existsSync(join(CONSOLE_DIR, 'index.html'))) return;
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'apps/console/vite.config.mts',
      '--logLevel',
      'warn',
    ],
    // Jest sets NODE_ENV=test, which Vite would build into the bundle: React's development build, whose strict
    // mode runs every effect twice. The suites test what ships.
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } },
  );
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  return { context, close: () => browser.close() };
}

/** Every API answer a page received: its path, status and body, for checking what a key was shown. */
export interface SeenResponse {
  url: string;
  status: number;
  body: string;
}

export function recordApiResponses(page: Page): SeenResponse[] {
  const seen: SeenResponse[] = [];
  page.on('response', (res) => {
    if (!new URL(res.url()).pathname.startsWith('/v1/')) return;
    res.text().then(
      (body) => seen.push({ url: res.url(), status: res.status(), body }),
      () => seen.push({ url: res.url(), status: res.status(), body: '' }),
    );
  });
  return seen;
}

/** A page that failed to load a script or broke the policy would show nothing: both fail the test. */
export function recordPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  return problems;
}

export async function signIn(page: Page, baseUrl: string, apiKey: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

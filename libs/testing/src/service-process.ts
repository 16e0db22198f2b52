import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';

// A service as it runs in production, `node apps/<service>/dist/main.js`, so a SIGKILL is a real crash.

const ROOT = resolve(__dirname, '../../..');
const NODE = resolve(ROOT, 'node_modules/.bin/node');

export interface ServiceProcess {
  proc: ChildProcess;
  /** Its stdout and stderr as they arrived, for a failing test to print. */
  output: string[];
  exited: Promise<void>;
}

/** Builds the service's dist (and the libraries it uses) before a suite spawns it. */
export function buildService(service: string): void {
  execFileSync(
    NODE,
    [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-b', `apps/${service}/tsconfig.json`],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

/** Starts the built service with exactly `env` (and PATH). */
export function spawnService(service: string, env: Record<string, string>): ServiceProcess {
  const proc = spawn(NODE, [resolve(ROOT, `apps/${service}/dist/main.js`)], {
    cwd: ROOT,
    env: { ...env, PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  proc.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, output, exited };
}

/** SIGKILLs the process, if it still runs, and waits for it to exit. */
export async function killService(child: ServiceProcess | undefined): Promise<void> {
  if (!child || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGKILL');
  await child.exited;
}

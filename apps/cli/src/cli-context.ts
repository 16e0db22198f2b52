import { homedir } from 'node:os';
import { readFileSync } from 'node:fs';
import { resolveConnection } from './config/connection';
import { GatewayClient } from './http/gateway-client';

// What every command reads from its invocation: the global options, the connection, and where output goes.

export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  profile?: string;
  json?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  errIsTTY: boolean;
  env: Record<string, string | undefined>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTTY: process.stderr.isTTY === true,
  env: process.env,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => Date.now(),
};

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export class CliContext {
  constructor(
    readonly io: Io,
    readonly options: GlobalOptions,
  ) {}

  get json(): boolean {
    return this.options.json === true;
  }

  client(): GatewayClient {
    const connection = resolveConnection({
      flags: { url: this.options.url, apiKey: this.options.apiKey, profile: this.options.profile },
      env: this.io.env,
      readConfigFile: readIfExists,
      homeDir: homedir(),
    });
    return new GatewayClient(connection);
  }

  /** Machine output: one JSON document per line on stdout. */
  printJson(value: unknown): void {
    this.io.out(`${JSON.stringify(value)}\n`);
  }

  print(text: string): void {
    this.io.out(text.endsWith('\n') ? text : `${text}\n`);
  }

  note(text: string): void {
    this.io.err(text.endsWith('\n') ? text : `${text}\n`);
  }
}

import type { Connection } from '../config/connection';
import { CliError, EXIT, exitCodeForStatus } from '../exit-codes';

// The only way the CLI talks to Deliberate: the public gateway API with a bearer key. Every failure becomes a CliError
// carrying the API's own message (its problem JSON) and the exit code of its status.

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

const SNIPPET = 200;
const snippet = (text: string) =>
  JSON.stringify(text.length > SNIPPET ? `${text.slice(0, SNIPPET)}…` : text).slice(1, -1);

/** The message of an error answer: the problem JSON's message (and its issues), or the start of whatever came. */
export function problemMessage(status: number, text: string, retryAfter: string | null): string {
  let message = `HTTP ${status}${text.trim() ? `: ${snippet(text.trim())}` : ''}`;
  try {
    const problem = JSON.parse(text) as { message?: unknown; error?: unknown; issues?: unknown };
    if (typeof problem.message === 'string' || Array.isArray(problem.message)) {
      const m = Array.isArray(problem.message) ? problem.message.join('; ') : problem.message;
      message = `${m} (HTTP ${status}${typeof problem.error === 'string' ? ` ${problem.error}` : ''})`;
      if (Array.isArray(problem.issues)) {
        for (const i of problem.issues as { path?: unknown; message?: unknown }[]) {
          message += `\n  - ${typeof i.path === 'string' && i.path ? `${i.path}: ` : ''}${String(i.message)}`;
        }
      }
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): the snippet above is all there is.
  }
  return retryAfter ? `${message}; retry after ${retryAfter} s` : message;
}

export class GatewayClient {
  constructor(
    private readonly connection: Connection,
    private readonly fetchImpl: Fetch = fetch,
    private readonly timeoutMs = 30_000,
  ) {}

  get url(): string {
    return this.connection.url;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(`${this.connection.url}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.connection.apiKey}`,
      accept: 'application/json',
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url.toString(), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why =
        (e as Error).name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs / 1000} s`
          : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new CliError(`cannot reach the gateway at ${this.connection.url}: ${why}`, EXIT.unavailable);
    }
    if (!res.ok) {
      throw new CliError(
        problemMessage(res.status, text, res.headers.get('retry-after')),
        exitCodeForStatus(res.status),
      );
    }
    if (text === '') return null as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(
        `the gateway answered ${method} ${path} (HTTP ${res.status}, ${res.headers.get('content-type') ?? 'no content type'}) with something that is not JSON: ${snippet(text)}`,
        EXIT.unexpected,
      );
    }
  }
}

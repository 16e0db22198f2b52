import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { PinnedTarget } from '../ssrf/ssrf-guard';
import { responseSnippet } from './response-snippet';

export const SNIPPET_CHARS = 1_000;
// Read this much of a response, to keep the connection reusable; a larger body costs us its connection.
const DRAIN_LIMIT_BYTES = 64 * 1024;

export type SendResult =
  | {
      kind: 'response';
      status: number;
      retryAfter: string | undefined;
      snippet: string;
      latencyMs: number;
    }
  | {
      kind: 'error';
      error: string;
      latencyMs: number;
      /** Nothing reached the receiver (refused or unreachable): another address of the name may be tried. */
      notConnected: boolean;
      /** The timeout cut the request off, before or during the response. */
      timedOut: boolean;
    };

// Errors raised before a connection exists: the body cannot have been received, so another address is safe to try.
// A timeout is not among them: the receiver may have the request.
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

// Keep-alive pools. Requests go to the pinned address, so the pools are keyed by address (and SNI name for TLS).
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512, scheduling: 'lifo' });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 512, scheduling: 'lifo' });

/**
 * POSTs one signed body to the pinned address. Never follows redirects (Node's http does not); never throws.
 * The timeout covers everything up to the end of the response body.
 */
export function postWebhook(
  target: PinnedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const secure = target.url.protocol === 'https:';
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let timedOut = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const options: https.RequestOptions = {
      method: 'POST',
      host: target.address,
      family: target.family,
      port: target.port,
      path: `${target.url.pathname}${target.url.search}`,
      agent: secure ? httpsAgent : httpAgent,
      headers: {
        ...headers,
        host: target.url.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'deliberate-webhooks/1',
      },
    };
    if (secure && !isIP(target.hostname)) options.servername = target.hostname;
    const request = (secure ? https : http).request(options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      response.on('data', (chunk: Buffer) => {
        if (size < SNIPPET_CHARS * 4) chunks.push(chunk);
        size += chunk.length;
        if (size > DRAIN_LIMIT_BYTES) {
          truncated = true;
          response.destroy();
        }
      });
      const done = () => {
        if (!response.complete && !truncated) {
          finish({
            kind: 'error',
            error: 'the connection closed before the response ended',
            latencyMs: elapsed(),
            notConnected: false,
            timedOut,
          });
          return;
        }
        finish({
          kind: 'response',
          status: response.statusCode ?? 0,
          retryAfter: headerValue(response.headers['retry-after']),
          snippet: responseSnippet(Buffer.concat(chunks), SNIPPET_CHARS),
          latencyMs: elapsed(),
        });
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', (e) =>
        finish({ kind: 'error', error: e.message, latencyMs: elapsed(), notConnected: false, timedOut }),
      );
    });
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (e: Error & { code?: string }) =>
      finish({
        kind: 'error',
        error: describe(e),
        latencyMs: elapsed(),
        notConnected: NOT_CONNECTED_CODES.has(e.code ?? ''),
        timedOut,
      }),
    );
    request.end(body);
  });
}

const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

function describe(e: Error & { code?: string }): string {
  return e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
}

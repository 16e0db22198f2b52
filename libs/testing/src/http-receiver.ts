import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver does with a request: answer (status, headers, body), or hold it and let the test decide. */
export type ReceiverBehaviour = (
  request: ReceivedRequest,
  response: ServerResponse,
) => { status: number; headers?: Record<string, string>; body?: string } | 'handled';

/** A local HTTP receiver on 127.0.0.1 that records every request (a webhook endpoint, an upstream service). */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  behave(behaviour: ReceiverBehaviour): void;
  close(): Promise<void>;
}

export async function startReceiver(
  behaviour: ReceiverBehaviour = () => ({ status: 200 }),
): Promise<Receiver> {
  let current = behaviour;
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(received);
      const answer = current(received, res);
      if (answer === 'handled') return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? 'ok');
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave: (b) => {
      current = b;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A request header as one string (repeated headers joined with commas, absent ones empty). */
export const requestHeader = (r: ReceivedRequest, name: string): string => {
  const value = r.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
};

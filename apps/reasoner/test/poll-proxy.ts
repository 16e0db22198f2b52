import type { RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// An HTTP proxy between a reasoner's model tier and the simulator, for background-mode suites: it can fail the polls
// of background responses for a while (a provider whose API is down), send them to another simulator (a provider
// that restarted and no longer knows the id), or run a hook before forwarding a request.

// What the SDK sends that matters to the simulator (hop-by-hop headers are not fetch's to set).
const FORWARDED = new Set(['authorization', 'content-type', 'accept', 'user-agent', 'idempotency-key']);

export class PollProxy {
  failPollsUntilMs = 0;
  failedPolls = 0;
  // Polls (GET) go here instead of the simulator that took the call, while set.
  pollTarget: RunningSimulator | null = null;
  /** Each poll is answered this much later than the simulator answers it (a slow provider API). */
  pollLatencyMs = 0;
  /** Polls being answered now, and the most there were at once. */
  pollsInFlight = 0;
  maxPollsInFlight = 0;
  /** Runs before a request is forwarded (after its body is read). */
  beforeForward: ((req: IncomingMessage) => void) | null = null;
  private server!: Server;

  constructor(private readonly target: RunningSimulator) {}

  get baseURL(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const poll = req.method === 'GET' && (req.url ?? '').startsWith('/v1/responses/');
        if (poll && Date.now() < this.failPollsUntilMs) {
          this.failedPolls += 1;
          res.writeHead(503, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              error: { message: 'The server is overloaded.', type: 'server_error', param: null, code: null },
            }),
          );
          return;
        }
        this.beforeForward?.(req);
        if (poll) {
          this.pollsInFlight += 1;
          this.maxPollsInFlight = Math.max(this.maxPollsInFlight, this.pollsInFlight);
          res.once('close', () => (this.pollsInFlight -= 1));
        }
        const target = poll && this.pollTarget ? this.pollTarget : this.target;
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(
            (e): e is [string, string] =>
              typeof e[1] === 'string' && (FORWARDED.has(e[0]) || e[0].startsWith('x-')),
          ),
        );
        const body = chunks.length ? Buffer.concat(chunks) : undefined;
        void fetch(`${target.url}${req.url ?? ''}`, { method: req.method ?? 'GET', headers, body })
          .then(async (r) => {
            const text = await r.text();
            if (poll && this.pollLatencyMs > 0)
              await new Promise((done) => setTimeout(done, this.pollLatencyMs));
            res
              .writeHead(r.status, {
                'content-type': r.headers.get('content-type') ?? 'application/json',
                ...(r.headers.get('x-request-id') ? { 'x-request-id': r.headers.get('x-request-id')! } : {}),
              })
              .end(text);
          })
          .catch(() => res.destroy());
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

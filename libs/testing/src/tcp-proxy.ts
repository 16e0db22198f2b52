import { connect, createServer, type Server, type Socket } from 'node:net';

// A TCP hop between one service and a dependency (Postgres, a broker), so a suite can make the dependency unreachable
// for that service alone, without touching the shared server every other suite uses.

export interface TcpProxy {
  /** 127.0.0.1 and the port the proxy listens on. */
  host: string;
  port: number;
  /** `host:port`, for a broker list. */
  address: string;
  /** Connections accepted so far, to show a client really went through the proxy. */
  accepted(): number;
  /**
   * Destroys every open connection, and until `restore()` refuses new ones (accepted and closed at once), or holds
   * them unanswered (`hold`): a client then sees a dependency that does not answer rather than one that is down.
   */
  cut(options?: { newConnections?: 'refuse' | 'hold' }): void;
  /** Forwards again; connections held while cut are forwarded now. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * Listens on a free port of 127.0.0.1 and forwards every connection to `target`. With `kafka`, the broker addresses
 * in Metadata and FindCoordinator answers are rewritten to the proxy's, so a client reaches every broker through it
 * (a single-node broker: the local one), not only for its first request.
 */
export async function startTcpProxy(
  target: { host: string; port: number },
  options: { kafka?: boolean } = {},
): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const held: Socket[] = [];
  let mode: 'forward' | 'refuse' | 'hold' = 'forward';
  let count = 0;
  let port = 0;

  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // A reset from either side is how a cut looks; it is not an error of the proxy.
    socket.on('error', () => undefined);
  };

  const forward = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    track(upstream);
    if (options.kafka) {
      const rewriter = new KafkaAddressRewriter('127.0.0.1', port);
      client.on('data', (chunk: Buffer) => upstream.write(rewriter.fromClient(chunk)));
      upstream.on('data', (chunk: Buffer) => client.write(rewriter.fromBroker(chunk)));
    } else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  };

  const server: Server = createServer((client) => {
    count += 1;
    track(client);
    if (mode === 'refuse') client.destroy();
    else if (mode === 'hold') {
      client.pause();
      held.push(client);
    } else forward(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  const host = '127.0.0.1';
  port = address.port;

  return {
    host,
    port,
    address: `${host}:${port}`,
    accepted: () => count,
    cut: (options = {}) => {
      mode = options.newConnections ?? 'refuse';
      for (const socket of open) socket.destroy();
    },
    restore: () => {
      mode = 'forward';
      for (const client of held.splice(0)) {
        if (client.destroyed) continue;
        forward(client);
        client.resume();
      }
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const METADATA = 3;
const FIND_COORDINATOR = 10;

// Kafka frames are a 4-byte size and the message. Requests are passed on as they are, remembering which API each
// correlation id asked; the answers to Metadata and FindCoordinator get the proxy's address in place of the broker's.
class KafkaAddressRewriter {
  private readonly asked = new Map<number, { apiKey: number; version: number }>();
  private fromClientBuffer: Buffer = Buffer.alloc(0);
  private fromBrokerBuffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  fromClient(chunk: Buffer): Buffer {
    this.fromClientBuffer = Buffer.concat([this.fromClientBuffer, chunk]);
    const [frames, rest] = splitFrames(this.fromClientBuffer);
    this.fromClientBuffer = rest;
    for (const frame of frames) {
      this.asked.set(frame.readInt32BE(8), { apiKey: frame.readInt16BE(4), version: frame.readInt16BE(6) });
    }
    return Buffer.concat(frames);
  }

  fromBroker(chunk: Buffer): Buffer {
    this.fromBrokerBuffer = Buffer.concat([this.fromBrokerBuffer, chunk]);
    const [frames, rest] = splitFrames(this.fromBrokerBuffer);
    this.fromBrokerBuffer = rest;
    return Buffer.concat(frames.map((f) => this.rewrite(f)));
  }

  private rewrite(frame: Buffer): Buffer {
    const correlationId = frame.readInt32BE(4);
    const request = this.asked.get(correlationId);
    this.asked.delete(correlationId);
    if (!request) return frame;
    const body = frame.subarray(8);
    const { apiKey, version } = request;
    let rewritten: Buffer | null = null;
    if (apiKey === METADATA) rewritten = this.metadata(body, version);
    else if (apiKey === FIND_COORDINATOR) rewritten = this.coordinator(body, version);
    if (!rewritten) return frame;
    const out = Buffer.alloc(8 + rewritten.length);
    out.writeInt32BE(4 + rewritten.length, 0);
    out.writeInt32BE(correlationId, 4);
    rewritten.copy(out, 8);
    return out;
  }

  private address(): Buffer {
    const host = Buffer.from(this.host);
    const out = Buffer.alloc(2 + host.length + 4);
    out.writeInt16BE(host.length, 0);
    host.copy(out, 2);
    out.writeInt32BE(this.port, 2 + host.length);
    return out;
  }

  // Metadata v0-v8 (kafkajs speaks up to v6): [throttle_time_ms (v3+)] brokers: [node_id host port rack (v1+)] ...
  private metadata(body: Buffer, version: number): Buffer | null {
    if (version > 8) return null;
    let at = version >= 3 ? 4 : 0;
    const parts: Buffer[] = [body.subarray(0, at + 4)];
    const brokers = body.readInt32BE(at);
    at += 4;
    for (let i = 0; i < brokers; i += 1) {
      parts.push(body.subarray(at, at + 4)); // node_id
      at += 4;
      at += 2 + body.readInt16BE(at) + 4; // host, port
      parts.push(this.address());
      if (version >= 1) {
        const rackStart = at;
        const rack = body.readInt16BE(at);
        at += 2 + Math.max(0, rack);
        parts.push(body.subarray(rackStart, at));
      }
    }
    parts.push(body.subarray(at));
    return Buffer.concat(parts);
  }

  // FindCoordinator v0: error_code node_id host port; v1-v3: throttle_time_ms error_code error_message node_id host port.
  private coordinator(body: Buffer, version: number): Buffer | null {
    if (version > 3) return null;
    let at = 0;
    if (version >= 1) at += 4;
    at += 2; // error_code
    if (version >= 1) at += 2 + Math.max(0, body.readInt16BE(at)); // error_message
    at += 4; // node_id
    const head = body.subarray(0, at);
    at += 2 + body.readInt16BE(at) + 4;
    return Buffer.concat([head, this.address(), body.subarray(at)]);
  }
}

function splitFrames(buffer: Buffer): [Buffer[], Buffer] {
  const frames: Buffer[] = [];
  let at = 0;
  while (buffer.length - at >= 4) {
    const size = buffer.readInt32BE(at);
    if (buffer.length - at < 4 + size) break;
    frames.push(buffer.subarray(at, at + 4 + size));
    at += 4 + size;
  }
  return [frames, buffer.subarray(at)];
}

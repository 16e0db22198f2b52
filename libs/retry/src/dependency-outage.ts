import { jitteredBackoffMs, sleep } from './backoff';

// Tells an unreachable dependency (the service's Postgres, its Kafka broker) from every other error: a failure that
// only waits for it is worth trying again (a Kafka handler, an HTTP request answered 503 with Retry-After), while
// anything not recognised here keeps its own handling (a dead letter, a 500: a bug).

export type Dependency = 'postgres' | 'kafka';

export interface DependencyOutage {
  dependency: Dependency;
  /** What was seen, for the log; never the query or its parameters. */
  detail: string;
}

// SQLSTATE class 08 (connection exception), 57P01-57P03 (admin or crash shutdown, cannot connect now), 53300 (too
// many connections).
const PG_UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
// What node-postgres and its pool throw when the socket goes away or none can be had in time.
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];
// Socket errors of the database driver; raised bare (no wrapper) when a connection cannot be opened.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// kafkajs errors that say the broker could not be reached or did not answer in time.
const KAFKA_UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLeaderNotFound',
  'KafkaJSMetadataNotLoaded',
]);

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  driverError?: unknown;
  originalError?: unknown;
  cause?: unknown;
  retriable?: unknown;
}

const shape = (e: unknown): ErrorShape | null => (typeof e === 'object' && e !== null ? e : null);

function postgresOutage(error: unknown): string | null {
  // TypeORM keeps the driver's error on `driverError` (and copies its code); node-postgres throws its own.
  for (let e = shape(error), depth = 0; e && depth < 3; e = shape(e.driverError), depth += 1) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && PG_UNAVAILABLE_SQLSTATE.test(code)) return `SQLSTATE ${code}`;
    if (code && SOCKET_CODES.has(code)) return code;
    const message = typeof e.message === 'string' ? e.message : '';
    if (PG_CONNECTION_MESSAGES.some((m) => message.includes(m))) return message;
  }
  return null;
}

// kafkajs wraps the error that ended its retries (NonRetriable, NumberOfRetriesExceeded) around the cause.
function kafkaOutage(error: unknown): string | null {
  for (let e = shape(error), depth = 0; e && depth < 4; e = shape(e.cause ?? e.originalError), depth += 1) {
    const name = typeof e.name === 'string' ? e.name : '';
    if (!name.startsWith('KafkaJS')) return null;
    if (KAFKA_UNREACHABLE.has(name)) return name;
    // A retriable protocol error (no leader yet, not enough replicas) passes with the outage; the others are bugs
    // or configuration (authorization, a message too large) and stay errors.
    if (name === 'KafkaJSProtocolError' && e.retriable === true) return name;
  }
  return null;
}

/** The dependency whose outage `error` shows, or null when it is any other error. */
export function dependencyOutage(error: unknown): DependencyOutage | null {
  const kafka = kafkaOutage(error);
  if (kafka) return { dependency: 'kafka', detail: kafka };
  const postgres = postgresOutage(error);
  if (postgres) return { dependency: 'postgres', detail: postgres };
  return null;
}

// Waits between two tries at an unreachable dependency: doubling from the first, up to the last, half of it random.
const OUTAGE_RETRY_FIRST_MS = 200;
const OUTAGE_RETRY_MAX_MS = 2_000;

/**
 * Runs `work` again while it fails only because a dependency is unreachable, until `giveUpAtMs` (epoch ms) or until
 * `signal` aborts; then its last error is thrown. Any other error is thrown at once.
 */
export async function retryWhileUnavailable<T>(
  work: () => Promise<T>,
  options: {
    giveUpAtMs: number;
    signal?: AbortSignal | undefined;
    onWait?: (outage: DependencyOutage, delayMs: number) => void;
  },
): Promise<T> {
  for (let retry = 1; ; retry += 1) {
    try {
      return await work();
    } catch (e) {
      const outage = dependencyOutage(e);
      const delayMs = jitteredBackoffMs(retry, OUTAGE_RETRY_FIRST_MS, OUTAGE_RETRY_MAX_MS);
      if (!outage || options.signal?.aborted || Date.now() + delayMs > options.giveUpAtMs) throw e;
      options.onWait?.(outage, delayMs);
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted) throw e;
    }
  }
}

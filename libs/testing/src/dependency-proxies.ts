import { TEST_DATABASE_URL } from './test-database';
import { TEST_KAFKA_BROKERS } from './test-kafka';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

// The outage suites put a proxy between one service and the shared Postgres or broker, and cut it: the one way to
// start those proxies and to point a service's configuration at them.

/** A proxy in front of the tests' Postgres (DATABASE_URL). */
export function proxyTestDatabase(): Promise<TcpProxy> {
  const base = new URL(TEST_DATABASE_URL);
  return startTcpProxy({ host: base.hostname, port: Number(base.port || 5432) });
}

/** A proxy in front of the tests' broker (the first of KAFKA_BROKERS), with broker addresses rewritten to its own. */
export function proxyTestBroker(): Promise<TcpProxy> {
  const [host, port] = TEST_KAFKA_BROKERS[0]!.split(':') as [string, string];
  return startTcpProxy({ host, port: Number(port) }, { kafka: true });
}

/** `databaseUrl` (a suite's own database) reached through `proxy` instead of straight. */
export function throughProxy(databaseUrl: string, proxy: TcpProxy): string {
  const url = new URL(databaseUrl);
  url.host = proxy.address;
  return url.toString();
}

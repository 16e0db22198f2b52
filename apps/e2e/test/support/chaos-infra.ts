// The chaos run's own Postgres cluster and Kafka broker (one node, or a three-node cluster), on free ports and in a
// directory of its own, so it can restart them under load without touching the shared 127.0.0.1:5432 server or
// 127.0.0.1:9092 broker that other suites use at the same time. Plain TypeScript (no decorators, no aliases): the
// benchmark runs it by type stripping.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs a command without blocking the event loop (the load keeps running meanwhile); rejects with its output. Its
 * stdin is /dev/null and the call ends when the command exits: a daemon it leaves behind (the broker, the Postgres
 * server) inherits no pipe of this process, which would otherwise keep it from exiting.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      if (code === 0) resolve(output);
      else
        reject(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `code ${code}`}\n${output}`));
    });
  });
}

// Debian keeps the server binaries outside PATH; pg_config says where, else the newest version installed.
async function postgresBinDir(): Promise<string> {
  if (process.env['CHAOS_PG_BIN']) return process.env['CHAOS_PG_BIN'];
  try {
    const dir = (await run('pg_config', ['--bindir'])).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config on PATH
  }
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions)
    if (existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return `/usr/lib/postgresql/${v}/bin`;
  throw new Error('no initdb found: install the PostgreSQL server or set CHAOS_PG_BIN');
}

export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database: string): string;
  /** Stops the server (fast shutdown: open connections are cut), keeps it down `downMs`, starts it again. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** initdb into `dir` (as the postgres user when this process is root: initdb refuses root) and starts it. */
export async function startPrivatePostgres(dir: string): Promise<PrivatePostgres> {
  const bin = await postgresBinDir();
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    chownSync(dir, uid, gid);
  }
  const pg = (tool: string, args: readonly string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args);
  const data = join(dir, 'data');
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=${HOST} -c fsync=off -c max_connections=400`;
  const start = () => pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', options, 'start']);
  const stop = () => pg('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
  await start();
  return {
    port,
    url: (database) => `postgres://postgres@${HOST}:${port}/${database}`,
    restart: async (downMs) => {
      await stop();
      await sleep(downMs);
      await start();
    },
    stop: () => stop().then(() => undefined),
  };
}

export interface PrivateKafka {
  /** The bootstrap list: one host:port, or the three nodes' comma-separated. */
  broker: string;
  /** How many broker nodes it has (1, or 3 for the cluster). */
  nodes: number;
  /**
   * The broker fault of a chaos run. A single node: a graceful stop, `downMs` without a broker, and a start on the
   * same data (topics and offsets kept). The cluster: one node SIGKILLed (a crash), `downMs`, and started again,
   * the other two serving meanwhile.
   */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

function kafkaScript(root: string, env: Record<string, string | undefined>) {
  const script = join(root, 'deploy/local/kafka.sh');
  return (...args: string[]) => run(script, args, { env, timeoutMs: 300_000 });
}

/** deploy/local/kafka.sh with its own state directory and ports: a single-node KRaft broker of this run's own. */
export async function startPrivateKafka(root: string, dir: string): Promise<PrivateKafka> {
  const port = await freePort();
  const controllerPort = await freePort();
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
  const kafka = kafkaScript(root, {
    ...process.env,
    KAFKA_STATE_DIR: dir,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_HEAP: process.env['CHAOS_KAFKA_HEAP'] ?? '-Xms128m -Xmx384m',
    KAFKA_SASL: '0',
  });
  await kafka('start');
  return {
    broker: `${HOST}:${port}`,
    nodes: 1,
    restart: async (downMs) => {
      await kafka('stop');
      await sleep(downMs);
      await kafka('start');
    },
    stop: () => kafka('stop').then(() => undefined),
  };
}

// The node a cluster's broker fault crashes: never the first, so a client's first bootstrap address stays up.
const CRASHED_NODE = '2';

/** deploy/local/kafka.sh --cluster with its own state directory and ports: three KRaft nodes of this run's own
 * (replication factor 3, min.insync.replicas 2), so one node may crash under load. */
export async function startPrivateKafkaCluster(root: string, dir: string): Promise<PrivateKafka> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const controllerPorts = [await freePort(), await freePort(), await freePort()];
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
  const kafka = kafkaScript(root, {
    ...process.env,
    KAFKA_CLUSTER: '1',
    KAFKA_SASL: '0',
    KAFKA_CLUSTER_STATE_DIR: dir,
    KAFKA_CLUSTER_PORTS: ports.join(','),
    KAFKA_CLUSTER_CONTROLLER_PORTS: controllerPorts.join(','),
    KAFKA_CLUSTER_HEAP: process.env['CHAOS_KAFKA_HEAP'] ?? '-Xms128m -Xmx384m',
  });
  await kafka('start');
  return {
    broker: ports.map((p) => `${HOST}:${p}`).join(','),
    nodes: 3,
    restart: async (downMs) => {
      await kafka('stop-node', CRASHED_NODE);
      await sleep(downMs);
      await kafka('start-node', CRASHED_NODE);
    },
    stop: () => kafka('stop').then(() => undefined),
  };
}

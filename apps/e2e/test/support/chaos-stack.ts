// The whole stack as production runs it, `node apps/<service>/dist/main.js` per replica of each service, on a private
// Postgres cluster and a private broker or three-node broker cluster (chaos-infra.ts), with fixed ports so a replica
// killed with SIGKILL comes back where its clients expect it. The caller builds the services' dist first.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  freePort,
  HOST,
  startPrivateKafka,
  startPrivateKafkaCluster,
  startPrivatePostgres,
} from './chaos-infra.ts';

export const CHAOS_SERVICES = ['ledger', 'webhooks', 'audit', 'gateway', 'triage', 'reasoner'] as const;
export type ChaosService = (typeof CHAOS_SERVICES)[number] | 'model-simulator';

export interface ChaosStackOptions {
  /** The repository root (apps/<service>/dist/main.js and deploy/local/kafka.sh live under it). */
  root: string;
  /** Multiplies the simulator's delays; 0.2 makes a 500-token reasoning call take about a second. */
  simTimeScale: number;
  /** Where each child's stdout and stderr go (the suite's held test output, the benchmark's log files). */
  output: (service: ChaosService, chunk: string) => void;
  /** Extra variables for every service. */
  env?: Record<string, string>;
  /** Processes of each service (default 1); the model simulator is always one. */
  replicas?: number;
  /** 1 (default): a single broker node; 3: a three-node cluster, topics with 3 replicas. */
  brokers?: 1 | 3;
}

export interface ChaosStack {
  /** The first gateway replica's; gatewayUrls has every replica's. */
  gatewayUrl: string;
  gatewayUrls: string[];
  replicas: number;
  brokerNodes: number;
  simulatorUrl: string;
  adminKey: string;
  auditorKey: string;
  databaseUrl: string;
  /** The bootstrap list (comma-separated for the cluster). */
  broker: string;
  topicPrefix: string;
  /** SQL on the stack's database (every service's schema is in it). */
  db: pg.Pool;
  /** SIGKILL, then the same replica again on the same ports; resolves when it answers /health. */
  killAndRestart(service: ChaosService, replica?: number): Promise<void>;
  /** SIGKILL only: the replica stays down until start(). */
  kill(service: ChaosService, replica: number): Promise<void>;
  /** Starts a killed replica again on its ports; resolves when it answers /health. */
  start(service: ChaosService, replica: number): Promise<void>;
  /** The Kafka client id of a replica's current process (each start has its own), or null while it is down. */
  clientIdOf(service: ChaosService, replica: number): string | null;
  /** Where a replica serves GET /metrics and /health. */
  urlOf(service: ChaosService, replica: number): string;
  /** SIGSTOP for `ms`, then SIGCONT: a replica that holds its connections and answers nothing. */
  freeze(service: ChaosService, ms: number, replica?: number): Promise<void>;
  /** The single broker restarted, or one node of the cluster crashed (SIGKILL) and started again. */
  restartBroker(downMs: number): Promise<void>;
  restartPostgres(downMs: number): Promise<void>;
  close(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 120_000;
const START_TAIL_LINES = 40;

interface Running {
  proc: ChildProcess;
  exited: Promise<void>;
  clientId: string;
  /** Its last lines of output. */
  tail: string[];
}

// One key per process slot: the service and its replica number.
const slot = (service: ChaosService, replica: number) => `${service}#${replica}`;

export async function startChaosStack(options: ChaosStackOptions): Promise<ChaosStack> {
  const dir = mkdtempSync(join(tmpdir(), 'deliberate-chaos-'));
  // The Postgres server runs as the postgres user when this process is root: it must reach its own directory.
  chmodSync(dir, 0o711);
  const cleanup: Array<() => Promise<void>> = [];
  const children = new Map<string, Running>();
  const replicas = Math.max(1, options.replicas ?? 1);
  const brokerNodes = options.brokers ?? 1;
  let starts = 0;
  let closing = false;

  const close = async (): Promise<void> => {
    closing = true;
    for (const [, child] of children) await stopChild(child);
    children.clear();
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [postgres, kafka] = await Promise.all([
      startPrivatePostgres(join(dir, 'postgres')),
      brokerNodes === 3
        ? startPrivateKafkaCluster(options.root, join(dir, 'kafka'))
        : startPrivateKafka(options.root, join(dir, 'kafka')),
    ]);
    cleanup.push(
      () => kafka.stop(),
      () => postgres.stop(),
    );
    const admin = new pg.Client({ connectionString: postgres.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE deliberate');
    await admin.end();
    const databaseUrl = postgres.url('deliberate');
    const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    // The pool's idle clients see the Postgres restart as an error event, not a thrown one.
    db.on('error', () => undefined);
    cleanup.push(() => db.end());

    // The simulator has one port; each service replica its own.
    const ports = new Map<string, number>();
    ports.set(slot('model-simulator', 0), await freePort());
    for (const service of CHAOS_SERVICES)
      for (let r = 0; r < replicas; r++) ports.set(slot(service, r), await freePort());
    const portOf = (service: ChaosService, replica = 0) => ports.get(slot(service, replica))!;
    const url = (service: ChaosService, replica = 0) => `http://${HOST}:${portOf(service, replica)}`;
    const secret = () => randomBytes(24).toString('hex');
    const tokens = { ledger: secret(), webhooks: secret(), audit: secret() };
    const adminKey = `chaos-admin-${secret()}`;
    const auditorKey = `chaos-auditor-${secret()}`;
    const topicPrefix = 'chaos.';
    const simBase = `${url('model-simulator')}/v1`;
    const llm = {
      LLM_FAST_BASE_URL: simBase,
      LLM_REASONING_BASE_URL: simBase,
      LLM_STANDARD_BASE_URL: simBase,
    };
    const common = {
      NODE_ENV: 'production',
      OTEL_TRACES_EXPORTER: 'none',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: kafka.broker,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      ...(brokerNodes === 3 ? { KAFKA_REPLICATION_FACTOR: '3' } : {}),
      ...options.env,
    };
    // Fixed for the run: a restarted service must read what its previous life wrote.
    const webhooksKey = randomBytes(32).toString('hex');
    const auditKey = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    // A gateway replica calls the ledger, webhooks and audit replica of its own number: there is no load balancer
    // in front of them, so a killed one is an outage of those calls for its gateway only.
    const envOf = (service: ChaosService, r: number): Record<string, string> => {
      const perService: Record<ChaosService, () => Record<string, string>> = {
        'model-simulator': () => ({
          NODE_ENV: 'production',
          OTEL_TRACES_EXPORTER: 'none',
          LOG_LEVEL: 'warn',
          SIM_HOST: HOST,
          SIM_PORT: String(portOf('model-simulator')),
          SIM_TIME_SCALE: String(options.simTimeScale),
        }),
        ledger: () => ({
          ...common,
          LEDGER_HOST: HOST,
          LEDGER_PORT: String(portOf('ledger', r)),
          LEDGER_INTERNAL_TOKEN: tokens.ledger,
          LEDGER_SWEEP_INTERVAL_MS: '1000',
        }),
        webhooks: () => ({
          ...common,
          WEBHOOKS_HOST: HOST,
          WEBHOOKS_PORT: String(portOf('webhooks', r)),
          WEBHOOKS_INTERNAL_TOKEN: tokens.webhooks,
          WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
          WEBHOOKS_RETRY_SCHEDULE: '0,500ms,1s,2s,5s,10s,20s,30s',
          WEBHOOKS_POLL_INTERVAL_MS: '200',
          WEBHOOKS_SECRET_ENCRYPTION_KEY: webhooksKey,
        }),
        audit: () => ({
          ...common,
          AUDIT_HOST: HOST,
          AUDIT_PORT: String(portOf('audit', r)),
          AUDIT_INTERNAL_TOKEN: tokens.audit,
          AUDIT_SIGNING_KEY: auditKey,
        }),
        gateway: () => ({
          ...common,
          GATEWAY_HOST: HOST,
          GATEWAY_PORT: String(portOf('gateway', r)),
          GATEWAY_ADMIN_API_KEY: adminKey,
          GATEWAY_PLATFORM_AUDITOR_API_KEY: auditorKey,
          GATEWAY_OUTBOX_INTERVAL_MS: '500',
          GATEWAY_RATE_LIMIT_PER_SECOND: '10000',
          GATEWAY_RATE_LIMIT_BURST: '10000',
          GATEWAY_MAX_UNFINISHED_TASKS: '1000000',
          GATEWAY_LEDGER_URL: url('ledger', r),
          LEDGER_INTERNAL_TOKEN: tokens.ledger,
          GATEWAY_WEBHOOKS_URL: url('webhooks', r),
          WEBHOOKS_INTERNAL_TOKEN: tokens.webhooks,
          GATEWAY_AUDIT_URL: url('audit', r),
          AUDIT_INTERNAL_TOKEN: tokens.audit,
        }),
        triage: () => ({
          ...common,
          ...llm,
          TRIAGE_HOST: HOST,
          TRIAGE_HEALTH_PORT: String(portOf('triage', r)),
        }),
        reasoner: () => ({
          ...common,
          ...llm,
          REASONER_HOST: HOST,
          REASONER_HEALTH_PORT: String(portOf('reasoner', r)),
        }),
      };
      return perService[service]();
    };

    const spawnOne = (service: ChaosService, r: number): Running => {
      // Its own client id per process: a consumer group's members name the process they are.
      const clientId = `deliberate-${service}-r${r}-${++starts}`;
      const proc = spawn(
        process.execPath,
        ['--enable-source-maps', join(options.root, `apps/${service}/dist/main.js`)],
        {
          cwd: options.root,
          env: {
            PATH: process.env['PATH'] ?? '',
            TZ: 'UTC',
            ...envOf(service, r),
            ...(service === 'model-simulator' ? {} : { KAFKA_CLIENT_ID: clientId }),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      // The last lines of each process, for the error of one that exits during start-up (the suite's own
      // transcript is printed by its tests, which never run when the stack does not start).
      const tail: string[] = [];
      const keep = (b: Buffer) => {
        const text = b.toString();
        options.output(service, text);
        tail.push(...text.split('\n').filter((l) => l.trim() !== ''));
        tail.splice(0, Math.max(0, tail.length - START_TAIL_LINES));
      };
      proc.stdout?.on('data', keep);
      proc.stderr?.on('data', keep);
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.once('exit', (code, signal) => {
        if (!closing && children.get(slot(service, r))?.proc === proc && signal !== 'SIGKILL')
          options.output(service, `[chaos] ${service} exited on its own (code ${code}, signal ${signal})\n`);
      });
      if (proc.pid === undefined) throw new Error(`could not spawn ${service}`);
      return { proc, exited, clientId, tail };
    };

    const waitHealthy = async (service: ChaosService, r: number): Promise<void> => {
      const deadline = Date.now() + HEALTH_TIMEOUT_MS;
      const child = children.get(slot(service, r));
      while (Date.now() < deadline) {
        if (child && child.proc.exitCode !== null)
          throw new Error(`${service} exited during start-up; its last lines:\n${child.tail.join('\n')}`);
        try {
          const res = await fetch(`${url(service, r)}/health`, { signal: AbortSignal.timeout(2_000) });
          if (res.ok) return;
        } catch {
          // not listening yet
        }
        await sleep(250);
      }
      throw new Error(
        `${service} did not answer ${url(service, r)}/health within ${HEALTH_TIMEOUT_MS / 1000} s`,
      );
    };

    const start = async (service: ChaosService, r: number): Promise<void> => {
      children.set(slot(service, r), spawnOne(service, r));
      await waitHealthy(service, r);
    };
    const kill = async (service: ChaosService, r: number): Promise<void> => {
      const child = children.get(slot(service, r));
      children.delete(slot(service, r));
      if (child) await stopChild(child);
    };

    // Dependencies first, as deploy/local/stack.sh does; the first start of each service runs its migrations, so
    // the further replicas start once every first one is up, together.
    await start('model-simulator', 0);
    for (const service of CHAOS_SERVICES) await start(service, 0);
    await Promise.all(
      CHAOS_SERVICES.flatMap((service) =>
        Array.from({ length: replicas - 1 }, (_, i) => start(service, i + 1)),
      ),
    );

    return {
      gatewayUrl: url('gateway'),
      gatewayUrls: Array.from({ length: replicas }, (_, r) => url('gateway', r)),
      replicas,
      brokerNodes: kafka.nodes,
      simulatorUrl: url('model-simulator'),
      adminKey,
      auditorKey,
      databaseUrl,
      broker: kafka.broker,
      topicPrefix,
      db,
      killAndRestart: async (service, replica = 0) => {
        await kill(service, replica);
        await start(service, replica);
      },
      kill,
      start,
      clientIdOf: (service, replica) => children.get(slot(service, replica))?.clientId ?? null,
      urlOf: url,
      freeze: async (service, ms, replica = 0) => {
        const child = children.get(slot(service, replica));
        if (!child) throw new Error(`${service} is not running`);
        child.proc.kill('SIGSTOP');
        await sleep(ms);
        child.proc.kill('SIGCONT');
        await waitHealthy(service, replica);
      },
      restartBroker: (downMs) => kafka.restart(downMs),
      restartPostgres: (downMs) => postgres.restart(downMs),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

// SIGKILL, and the pipes of its output closed on this side too, so nothing of it keeps this process alive.
async function stopChild(child: Running): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
  child.proc.stdout?.destroy();
  child.proc.stderr?.destroy();
}

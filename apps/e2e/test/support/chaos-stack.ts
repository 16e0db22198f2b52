// The whole stack as production runs it, one `node apps/<service>/dist/main.js` per service, on a private Postgres
// cluster and a private broker (chaos-infra.ts), with fixed ports so a service killed with SIGKILL comes back where
// its clients expect it. The caller builds the services' dist first.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort, HOST, startPrivateKafka, startPrivatePostgres } from './chaos-infra.ts';

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
}

export interface ChaosStack {
  gatewayUrl: string;
  simulatorUrl: string;
  adminKey: string;
  auditorKey: string;
  databaseUrl: string;
  broker: string;
  topicPrefix: string;
  /** SQL on the stack's database (every service's schema is in it). */
  db: pg.Pool;
  /** SIGKILL, then the same service again on the same ports; resolves when it answers /health. */
  killAndRestart(service: ChaosService): Promise<void>;
  /** SIGSTOP for `ms`, then SIGCONT: a service that holds its connections and answers nothing. */
  freeze(service: ChaosService, ms: number): Promise<void>;
  restartBroker(downMs: number): Promise<void>;
  restartPostgres(downMs: number): Promise<void>;
  close(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 120_000;

interface Running {
  proc: ChildProcess;
  exited: Promise<void>;
}

export async function startChaosStack(options: ChaosStackOptions): Promise<ChaosStack> {
  const dir = mkdtempSync(join(tmpdir(), 'deliberate-chaos-'));
  // The Postgres server runs as the postgres user when this process is root: it must reach its own directory.
  chmodSync(dir, 0o711);
  const cleanup: Array<() => Promise<void>> = [];
  const children = new Map<ChaosService, Running>();
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
      startPrivateKafka(options.root, join(dir, 'kafka')),
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

    const port: Record<ChaosService, number> = {
      'model-simulator': await freePort(),
      ledger: await freePort(),
      webhooks: await freePort(),
      audit: await freePort(),
      gateway: await freePort(),
      triage: await freePort(),
      reasoner: await freePort(),
    };
    const url = (service: ChaosService) => `http://${HOST}:${port[service]}`;
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
      ...options.env,
    };
    // Fixed for the run: a restarted service must read what its previous life wrote.
    const webhooksKey = randomBytes(32).toString('hex');
    const auditKey = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const envOf: Record<ChaosService, Record<string, string>> = {
      'model-simulator': {
        NODE_ENV: 'production',
        OTEL_TRACES_EXPORTER: 'none',
        LOG_LEVEL: 'warn',
        SIM_HOST: HOST,
        SIM_PORT: String(port['model-simulator']),
        SIM_TIME_SCALE: String(options.simTimeScale),
      },
      ledger: {
        ...common,
        LEDGER_HOST: HOST,
        LEDGER_PORT: String(port.ledger),
        LEDGER_INTERNAL_TOKEN: tokens.ledger,
        LEDGER_SWEEP_INTERVAL_MS: '1000',
      },
      webhooks: {
        ...common,
        WEBHOOKS_HOST: HOST,
        WEBHOOKS_PORT: String(port.webhooks),
        WEBHOOKS_INTERNAL_TOKEN: tokens.webhooks,
        WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
        WEBHOOKS_RETRY_SCHEDULE: '0,500ms,1s,2s,5s,10s,20s,30s',
        WEBHOOKS_POLL_INTERVAL_MS: '200',
        WEBHOOKS_SECRET_ENCRYPTION_KEY: webhooksKey,
      },
      audit: {
        ...common,
        AUDIT_HOST: HOST,
        AUDIT_PORT: String(port.audit),
        AUDIT_INTERNAL_TOKEN: tokens.audit,
        AUDIT_SIGNING_KEY: auditKey,
      },
      gateway: {
        ...common,
        GATEWAY_HOST: HOST,
        GATEWAY_PORT: String(port.gateway),
        GATEWAY_ADMIN_API_KEY: adminKey,
        GATEWAY_PLATFORM_AUDITOR_API_KEY: auditorKey,
        GATEWAY_OUTBOX_INTERVAL_MS: '500',
        GATEWAY_RATE_LIMIT_PER_SECOND: '10000',
        GATEWAY_RATE_LIMIT_BURST: '10000',
        GATEWAY_MAX_UNFINISHED_TASKS: '1000000',
        GATEWAY_LEDGER_URL: url('ledger'),
        LEDGER_INTERNAL_TOKEN: tokens.ledger,
        GATEWAY_WEBHOOKS_URL: url('webhooks'),
        WEBHOOKS_INTERNAL_TOKEN: tokens.webhooks,
        GATEWAY_AUDIT_URL: url('audit'),
        AUDIT_INTERNAL_TOKEN: tokens.audit,
      },
      triage: { ...common, ...llm, TRIAGE_HOST: HOST, TRIAGE_HEALTH_PORT: String(port.triage) },
      reasoner: { ...common, ...llm, REASONER_HOST: HOST, REASONER_HEALTH_PORT: String(port.reasoner) },
    };

    const spawnOne = (service: ChaosService): Running => {
      const proc = spawn(
        process.execPath,
        ['--enable-source-maps', join(options.root, `apps/${service}/dist/main.js`)],
        {
          cwd: options.root,
          env: { PATH: process.env['PATH'] ?? '', TZ: 'UTC', ...envOf[service] },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      proc.stdout?.on('data', (b: Buffer) => options.output(service, b.toString()));
      proc.stderr?.on('data', (b: Buffer) => options.output(service, b.toString()));
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.once('exit', (code, signal) => {
        if (!closing && children.get(service)?.proc === proc && signal !== 'SIGKILL')
          options.output(service, `[chaos] ${service} exited on its own (code ${code}, signal ${signal})\n`);
      });
      if (proc.pid === undefined) throw new Error(`could not spawn ${service}`);
      return { proc, exited };
    };

    const waitHealthy = async (service: ChaosService): Promise<void> => {
      const deadline = Date.now() + HEALTH_TIMEOUT_MS;
      const child = children.get(service);
      while (Date.now() < deadline) {
        if (child && child.proc.exitCode !== null) throw new Error(`${service} exited during start-up`);
        try {
          const res = await fetch(`${url(service)}/health`, { signal: AbortSignal.timeout(2_000) });
          if (res.ok) return;
        } catch {
          // not listening yet
        }
        await sleep(250);
      }
      throw new Error(
        `${service} did not answer ${url(service)}/health within ${HEALTH_TIMEOUT_MS / 1000} s`,
      );
    };

    const start = async (service: ChaosService): Promise<void> => {
      children.set(service, spawnOne(service));
      await waitHealthy(service);
    };

    // Dependencies first, as deploy/local/stack.sh does; the first start of each service runs its migrations.
    for (const service of ['model-simulator', ...CHAOS_SERVICES] as const) await start(service);

    return {
      gatewayUrl: url('gateway'),
      simulatorUrl: url('model-simulator'),
      adminKey,
      auditorKey,
      databaseUrl,
      broker: kafka.broker,
      topicPrefix,
      db,
      killAndRestart: async (service) => {
        const child = children.get(service);
        if (child) await stopChild(child);
        await start(service);
      },
      freeze: async (service, ms) => {
        const child = children.get(service);
        if (!child) throw new Error(`${service} is not running`);
        child.proc.kill('SIGSTOP');
        await sleep(ms);
        child.proc.kill('SIGCONT');
        await waitHealthy(service);
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

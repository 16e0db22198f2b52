// The Grafana dashboard (deploy/observability/grafana-dashboard.json) as it looks under load, without Grafana: starts
// the whole stack on the local Kafka broker and a fresh database, a real Prometheus (/usr/bin/prometheus) scraping
// every service's /metrics every SCRAPE_S with deploy/observability/alerts.yml loaded, drives a mixed load for
// DURATION_S, then asks Prometheus' query_range API for every panel's own expressions and renders the dashboard as
// one HTML page (rows, panels, SVG line charts), screenshotted with Chromium into docs/img/dashboard.png.
//
//   npm run bench:dashboard      (bench/dashboard.ts; needs the services built: npx tsc -b tsconfig.build.json)
//   npm run bench:dashboard -- --duration-s=60 --fast-rate=4
//
// The load: fast tasks, tasks the triage sends to the reasoning tier, runaway reasoning tasks that fall back to the
// standard model, one in four with a webhookUrl to a local receiver that answers 500 to one delivery in three (and
// always to one URL in twelve, so some deliveries are given up), a tenant with a small daily budget and a spend-rate
// breaker (some reservations are denied), and now and then an unsigned intake message (dead-lettered).
//
// Options (flag or environment variable):
//   DURATION_S (120)        how long the load runs
//   FAST_RATE (6)           fast tasks per second at the load's middle step (half of it first, then three quarters)
//   REASONING_RATE (0.8)    reasoning tasks per second, the same way
//   SIM_TIME_SCALE (0.3)    the simulator's delays (0.3: a reasoning call takes a second or two)
//   SCRAPE_S (2)            Prometheus' scrape and rule evaluation interval
//   FRUGAL_DAILY_USD (0.1)  the small tenant's daily budget (a reasoning task of it holds about $0.05 while it runs)
//   FRUGAL_BREAKER_USD (0.005) the small tenant's spend-rate breaker: at most this much spent in 10 s
//   BENCH_TIMEOUT_S (900)   hard limit for the whole run
//   OUT (docs/img/dashboard.png)   where the screenshot goes (the HTML stays in .local/bench/dashboard.html)
// Child logs: .local/bench/dashboard-<service>.log. Everything started here (Prometheus and its data, the services,
// the browser, the topics, the database) is removed at the end, on error and on SIGINT/SIGTERM.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { requireFromRoot } from './lib/built.ts';
import { removeTopicsAtCleanup, useLocalKafka } from './lib/kafka.ts';
import { helpFromHeader, numberOption } from './lib/options.ts';
import { createDatabase } from './lib/pg.ts';
import { BenchRun, type Child, elapsedS, freePort, HOST, log, logDir, root, waitHealthy } from './lib/run.ts';
import { bump, errorMessage } from './lib/stats.ts';

type Testing = typeof import('@deliberate/testing');
const { Kafka, logLevel, Partitioners } = kafkajs;

helpFromHeader(import.meta.url);

const opts = {
  durationS: numberOption('DURATION_S', 120, { min: 10, max: 3600 }),
  fastRate: numberOption('FAST_RATE', 6, { min: 0, max: 500, integer: false }),
  reasoningRate: numberOption('REASONING_RATE', 0.8, { min: 0, max: 50, integer: false }),
  simTimeScale: numberOption('SIM_TIME_SCALE', 0.3, { min: 0, max: 10, integer: false }),
  scrapeS: numberOption('SCRAPE_S', 2, { min: 1, max: 60 }),
  frugalDailyUsd: numberOption('FRUGAL_DAILY_USD', 0.1, { min: 0.000001, max: 1000, integer: false }),
  frugalBreakerUsd: numberOption('FRUGAL_BREAKER_USD', 0.005, { min: 0.000001, max: 1000, integer: false }),
  benchTimeoutS: numberOption('BENCH_TIMEOUT_S', 900, { min: 60, max: 7200 }),
  out: process.env.OUT || 'docs/img/dashboard.png',
};

const PROMETHEUS = '/usr/bin/prometheus';
const DASHBOARD = join(root, 'deploy/observability/grafana-dashboard.json');
const ALERT_RULES = join(root, 'deploy/observability/alerts.yml');
const SERVICES = ['ledger', 'webhooks', 'audit', 'gateway', 'triage', 'reasoner'] as const;
type Service = (typeof SERVICES)[number];
// After the load, so the last tasks end and Prometheus scrapes their effects.
const SETTLE_S = 15;

const run = new BenchRun(opts.benchTimeoutS);
const runId = randomBytes(4).toString('hex');
const testing = (): Testing => requireFromRoot<Testing>('@deliberate/testing');

// ---------------------------------------------------------------- the stack

interface Stack {
  gatewayUrl: string;
  adminKey: string;
  topicPrefix: string;
  broker: string;
  metricsTargets: { service: string; target: string }[];
}

async function startStack(): Promise<Stack> {
  for (const s of ['model-simulator', ...SERVICES])
    if (!existsSync(join(root, `apps/${s}/dist/main.js`)))
      throw new Error(`apps/${s}/dist/main.js is missing: run npx tsc -b tsconfig.build.json`);
  const broker = await useLocalKafka(run);
  const topicPrefix = `bench.${runId}.`;
  removeTopicsAtCleanup(run, () => broker, [topicPrefix, `bench-${runId}`]);
  const db = await createDatabase(run, `deliberate_dashboard_${runId}`);
  log(`created database ${db.name} (${db.version.split(',')[0]})`);

  const port = Object.fromEntries(
    await Promise.all(['model-simulator', ...SERVICES].map(async (s) => [s, await freePort()] as const)),
  ) as Record<Service | 'model-simulator', number>;
  const url = (s: Service | 'model-simulator') => `http://${HOST}:${port[s]}`;
  const secret = () => randomBytes(24).toString('hex');
  const tokens = { ledger: secret(), webhooks: secret(), audit: secret() };
  const adminKey = `bench-admin-${secret()}`;
  const simBase = `${url('model-simulator')}/v1`;
  const llm = { LLM_FAST_BASE_URL: simBase, LLM_REASONING_BASE_URL: simBase, LLM_STANDARD_BASE_URL: simBase };
  const common = { DATABASE_URL: db.url, KAFKA_BROKERS: broker, KAFKA_TOPIC_PREFIX: topicPrefix };
  const env: Record<Service | 'model-simulator', Record<string, string>> = {
    'model-simulator': {
      SIM_HOST: HOST,
      SIM_PORT: String(port['model-simulator']),
      SIM_TIME_SCALE: String(opts.simTimeScale),
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
      // The receiver is on this machine; a short schedule gives up on a receiver that keeps failing within seconds.
      WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8',
      WEBHOOKS_RETRY_SCHEDULE: '0,500ms,1s,2s,4s',
      WEBHOOKS_POLL_INTERVAL_MS: '200',
      WEBHOOKS_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    },
    audit: {
      ...common,
      AUDIT_HOST: HOST,
      AUDIT_PORT: String(port.audit),
      AUDIT_INTERNAL_TOKEN: tokens.audit,
      AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    },
    gateway: {
      ...common,
      GATEWAY_HOST: HOST,
      GATEWAY_PORT: String(port.gateway),
      GATEWAY_ADMIN_API_KEY: adminKey,
      GATEWAY_OUTBOX_INTERVAL_MS: '500',
      GATEWAY_RATE_LIMIT_PER_SECOND: '10000',
      GATEWAY_RATE_LIMIT_BURST: '10000',
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
  // Dependencies first, as deploy/local/stack.sh does; each service's first start runs its migrations.
  for (const s of ['model-simulator', ...SERVICES] as const) {
    const child: Child = run.spawnService(s, `apps/${s}/dist/main.js`, env[s], {
      logName: `dashboard-${s}.log`,
    });
    await waitHealthy(run, child, `${url(s)}/health`, 90_000);
  }
  return {
    gatewayUrl: url('gateway'),
    adminKey,
    topicPrefix,
    broker,
    metricsTargets: SERVICES.map((s) => ({ service: s, target: `${HOST}:${port[s]}` })),
  };
}

// ---------------------------------------------------------------- Prometheus

async function startPrometheus(targets: Stack['metricsTargets']): Promise<string> {
  if (!existsSync(PROMETHEUS))
    throw new Error(
      `${PROMETHEUS} is missing: apt-get install -y prometheus (Debian's package; stop the service it may start)`,
    );
  const storage = mkdtempSync(join(tmpdir(), 'deliberate-dashboard-prometheus-'));
  run.atTheEnd(() => rmSync(storage, { recursive: true, force: true }));
  const config = join(logDir, 'dashboard-prometheus.yml');
  // The job and labels of deploy/observability/prometheus.yml, on this run's ports, at a short interval.
  writeFileSync(
    config,
    [
      '# Written by bench/dashboard.ts for one run.',
      'global:',
      `  scrape_interval: ${opts.scrapeS}s`,
      `  scrape_timeout: ${opts.scrapeS}s`,
      `  evaluation_interval: ${opts.scrapeS}s`,
      'rule_files:',
      `  - ${JSON.stringify(ALERT_RULES)}`,
      'scrape_configs:',
      '  - job_name: deliberate',
      '    metrics_path: /metrics',
      '    static_configs:',
      ...targets.flatMap((t) => [
        `      - targets: ['${t.target}']`,
        `        labels: { service: ${t.service} }`,
      ]),
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const prometheus = run.spawn(
    'prometheus',
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=${HOST}:${port}`,
      '--storage.tsdb.retention.time=1d',
    ],
    { logName: 'dashboard-prometheus.log' },
  );
  const url = `http://${HOST}:${port}`;
  await waitHealthy(run, prometheus, `${url}/-/ready`, 60_000);
  return url;
}

interface PromSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

async function promApi<T>(base: string, path: string, params: Record<string, string> = {}): Promise<T> {
  const r = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`, {
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await r.json()) as { status: string; data: T; error?: string; errorType?: string };
  if (body.status !== 'success')
    throw new Error(`${path}: ${body.errorType ?? r.status} ${body.error ?? ''}`);
  return body.data;
}

async function targetsUp(base: string): Promise<{ up: number; total: number; down: string[] }> {
  const data = await promApi<{
    activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
  }>(base, '/api/v1/targets');
  const down = data.activeTargets
    .filter((t) => t.health !== 'up')
    .map((t) => `${t.labels.service} (${t.health}${t.lastError ? `: ${t.lastError}` : ''})`);
  return { up: data.activeTargets.length - down.length, total: data.activeTargets.length, down };
}

// ---------------------------------------------------------------- load

interface Load {
  submitted: Map<string, number>;
  accepted: number;
  rejected: Map<number, number>;
  errors: number;
  errorSample: string | null;
  intakeRefused: number;
}

interface TenantKeys {
  submitter: string;
  admin: string;
}

async function createTenant(stack: Stack, id: string): Promise<TenantKeys> {
  const t = testing();
  await t.createGatewayTenant(stack.gatewayUrl, stack.adminKey, id);
  return {
    submitter: await t.createGatewayApiKey(stack.gatewayUrl, stack.adminKey, id, 'submitter'),
    admin: await t.createGatewayApiKey(stack.gatewayUrl, stack.adminKey, id, 'admin'),
  };
}

// The load's steps, as fractions of the rates: visible changes of level on every rate panel.
const loadLevel = (fraction: number): number => (fraction < 0.3 ? 0.5 : fraction < 0.7 ? 1 : 0.75);

async function driveLoad(stack: Stack, receiverUrl: string, receivedByStatus: () => string): Promise<Load> {
  const { gatewayHttp } = testing();
  const acme = await createTenant(stack, `acme-${runId}`);
  const frugal = await createTenant(stack, `frugal-${runId}`);
  // A small daily budget (two reasoning holds fill it) and a spend-rate breaker: some reservations are denied.
  const budget = await gatewayHttp(stack.gatewayUrl, 'PUT', '/v1/ledger/budgets', {
    key: frugal.admin,
    body: {
      dailyLimitUsd: opts.frugalDailyUsd,
      breakerWindowSeconds: 10,
      breakerMaxSpendUsd: opts.frugalBreakerUsd,
    },
  });
  if (budget.status !== 200) throw new Error(`frugal budget: ${budget.status} ${budget.text}`);
  // Deliveries to a task's webhookUrl are signed with the tenant's task secret: without one they are refused.
  const secret = await gatewayHttp(stack.gatewayUrl, 'POST', '/v1/webhooks/task-secret', { key: acme.admin });
  if (secret.status !== 201) throw new Error(`task webhook secret: ${secret.status} ${secret.text}`);
  log(
    `tenants acme-${runId} (a task webhook secret) and frugal-${runId} (daily budget $${opts.frugalDailyUsd}, breaker at $${opts.frugalBreakerUsd} in 10 s)`,
  );

  const load: Load = {
    submitted: new Map(),
    accepted: 0,
    rejected: new Map(),
    errors: 0,
    errorSample: null,
    intakeRefused: 0,
  };
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const webhookUrl = (): string | undefined => {
    n++;
    if (n % 4 !== 0) return undefined;
    return n % 48 === 0 ? `${receiverUrl}/hooks/down` : `${receiverUrl}/hooks/flaky`;
  };
  const submit = (kind: string, key: string, body: Record<string, unknown>) => {
    bump(load.submitted, kind);
    const p = gatewayHttp(stack.gatewayUrl, 'POST', '/v1/tasks', { key, body })
      .then((r) => {
        if (r.status === 202) load.accepted++;
        else bump(load.rejected, r.status);
      })
      .catch((e: unknown) => {
        load.errors++;
        load.errorSample ??= errorMessage(e);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const kinds: { kind: string; perS: number; fire: (i: number) => void }[] = [
    {
      kind: 'fast',
      perS: opts.fastRate,
      fire: (i) =>
        submit('fast', acme.submitter, {
          input: `Dashboard question ${i}: what is ${i} + ${i}?`,
          mode: 'fast',
          webhookUrl: webhookUrl(),
        }),
    },
    {
      // Classified by the triage (two fast calls, or a hand-off to the reasoner).
      kind: 'auto',
      perS: opts.fastRate / 3,
      fire: (i) =>
        submit('auto', acme.submitter, {
          input:
            i % 2
              ? `Name a colour, number ${i}.`
              : `Prove step by step that ${i} squared is never ${2 * i * i + 1}.`,
          webhookUrl: webhookUrl(),
        }),
    },
    {
      kind: 'reasoning',
      perS: opts.reasoningRate,
      fire: (i) =>
        submit('reasoning', acme.submitter, {
          input: `Prove step by step that the square root of ${2 + (i % 5) * 3} is irrational.`,
          mode: 'reasoning',
          maxCostUsd: 1,
          maxThinkingTokens: 20_000,
          reasoningEffort: 'low',
          webhookUrl: webhookUrl(),
        }),
    },
    {
      // Thinking that runs away: stopped at the token limit, answered by the standard model instead.
      kind: 'runaway',
      perS: opts.reasoningRate / 6,
      fire: (i) =>
        submit('runaway', acme.submitter, {
          input: `Optimise schedule ${i} step by step. [[sim:reasoning_tokens=500000]]`,
          mode: 'reasoning',
          maxThinkingTokens: 2_000,
        }),
    },
    {
      kind: 'frugal',
      perS: opts.reasoningRate / 2,
      fire: (i) =>
        submit('frugal', frugal.submitter, {
          input: `Prove step by step that there are infinitely many primes (${i}).`,
          mode: 'reasoning',
          maxThinkingTokens: 4_000,
          // One in four with a ceiling below the reservation it needs.
          ...(i % 4 === 3 ? { maxCostUsd: 0.001 } : {}),
        }),
    },
  ];

  // Now and then a submission on the intake topic without a signature: the gateway dead-letters it.
  const kafka = new Kafka({ clientId: `bench-${runId}`, brokers: [stack.broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  run.onCleanup(() => producer.disconnect());
  const sendUnsigned = async () => {
    await producer.send({
      topic: `${stack.topicPrefix}tasks.task.submitted.v1`,
      messages: [
        {
          key: `dashboard-${runId}-${load.intakeRefused}`,
          value: JSON.stringify({ input: 'An unsigned submission.' }),
          headers: { ce_tenantid: `acme-${runId}`, ce_taskid: `dashboard-${runId}-${load.intakeRefused}` },
        },
      ],
    });
    load.intakeRefused++;
  };

  const progress = () => {
    const sub = [...load.submitted].map(([k, v]) => `${k} ${v}`).join(', ');
    const rej = [...load.rejected].map(([s, v]) => `${s}×${v}`).join(', ') || 'none';
    return `submitted ${sub}; accepted ${load.accepted}, refused ${rej}, errors ${load.errors}; unsigned intake messages ${load.intakeRefused}; webhook receiver: ${receivedByStatus()}`;
  };
  log(`load: ${opts.durationS} s of mixed tasks (rates ×0.5, ×1, then ×0.75)`);
  const t0S = elapsedS();
  const stopProgress = run.ticker(
    () => log(`load ${(elapsedS() - t0S).toFixed(0)} s: ${progress()}`),
    10_000,
  );
  const due = new Map(kinds.map((k) => [k.kind, 0]));
  const fired = new Map(kinds.map((k) => [k.kind, 0]));
  let lastS = t0S;
  let nextUnsignedS = t0S + 5;
  for (;;) {
    run.checkAborted();
    const nowS = elapsedS();
    if (nowS - t0S >= opts.durationS) break;
    const level = loadLevel((nowS - t0S) / opts.durationS);
    for (const k of kinds) {
      const owed = (due.get(k.kind) ?? 0) + k.perS * level * (nowS - lastS);
      let count = Math.floor(owed);
      due.set(k.kind, owed - count);
      while (count-- > 0) {
        const i = fired.get(k.kind) ?? 0;
        fired.set(k.kind, i + 1);
        k.fire(i);
      }
    }
    if (nowS >= nextUnsignedS) {
      nextUnsignedS = nowS + 15;
      await sendUnsigned().catch((e: unknown) => log(`unsigned intake message: ${errorMessage(e)}`));
    }
    lastS = nowS;
    await sleep(100);
  }
  await Promise.all(inFlight);
  stopProgress();
  log(`load done: ${progress()}`);
  if (load.accepted === 0) throw new Error(`the gateway accepted no task: ${load.errorSample ?? progress()}`);
  return load;
}

// ---------------------------------------------------------------- the dashboard's panels

interface Target {
  refId?: string;
  expr: string;
  legendFormat?: string;
  hide?: boolean;
}
interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}
interface Panel {
  type: string;
  title: string;
  id: number;
  gridPos: GridPos;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating?: {
    list?: { name: string; type: string; current?: { value?: string | string[] }; query?: unknown }[];
  };
}

interface SeriesData {
  name: string;
  points: [number, number][];
}
interface TargetResult {
  expr: string;
  legend: string;
  series: SeriesData[];
  error: string | null;
}
interface PanelResult {
  panel: Panel;
  targets: TargetResult[];
}

/** A Grafana variable's value: the built-in intervals from the query's step, custom ones from their current value. */
function substituteVariables(expr: string, dashboard: Dashboard, stepS: number, rangeS: number): string {
  const builtIn: Record<string, string> = {
    __interval: `${stepS}s`,
    __interval_ms: String(stepS * 1000),
    __rate_interval: `${Math.max(stepS + opts.scrapeS, 4 * opts.scrapeS)}s`,
    __range: `${Math.round(rangeS)}s`,
    __range_s: String(Math.round(rangeS)),
    __range_ms: String(Math.round(rangeS * 1000)),
  };
  const custom = Object.fromEntries(
    (dashboard.templating?.list ?? [])
      .filter((v) => v.type !== 'datasource')
      .map((v) => {
        const value = v.current?.value;
        // A multi-value or "All" variable becomes a regex alternative, as Grafana formats it for Prometheus.
        const text = Array.isArray(value) ? value.join('|') : value === '$__all' ? '.*' : (value ?? '.*');
        return [v.name, text] as const;
      }),
  );
  const value = (name: string, whole: string) => builtIn[name] ?? custom[name] ?? whole;
  return expr
    .replace(/\$\{(\w+)(?::\w+)?\}/g, (whole, name: string) => value(name, whole))
    .replace(/\[\[(\w+)\]\]/g, (whole, name: string) => value(name, whole))
    .replace(/\$(\w+)/g, (whole, name: string) => value(name, whole));
}

/** Grafana's legend: `{{label}}` replaced by the series' label, or the whole label set without a format. */
function legendOf(format: string | undefined, metric: Record<string, string>): string {
  if (format && format !== '__auto')
    return format.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, label: string) => metric[label] ?? '');
  const { __name__: name, ...labels } = metric;
  const set = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return `${name ?? ''}${set ? `{${set}}` : ''}` || '{}';
}

async function queryPanels(
  prometheus: string,
  dashboard: Dashboard,
  startS: number,
  endS: number,
  stepS: number,
): Promise<PanelResult[]> {
  const flat = dashboard.panels.flatMap((p) => (p.type === 'row' ? [p, ...(p.panels ?? [])] : [p]));
  const results: PanelResult[] = [];
  for (const panel of flat) {
    if (panel.type === 'row') continue;
    const targets: TargetResult[] = [];
    for (const t of (panel.targets ?? []).filter((x) => !x.hide && x.expr)) {
      const expr = substituteVariables(t.expr, dashboard, stepS, endS - startS);
      try {
        const data = await promApi<{ resultType: string; result: PromSeries[] }>(
          prometheus,
          '/api/v1/query_range',
          { query: expr, start: String(startS), end: String(endS), step: `${stepS}s` },
        );
        const series = data.result
          .map((s) => ({
            name: legendOf(t.legendFormat, s.metric),
            points: s.values.map(([ts, v]) => [ts, Number(v)] as [number, number]),
          }))
          .filter((s) => s.points.some(([, v]) => Number.isFinite(v)))
          .sort((a, b) => a.name.localeCompare(b.name));
        targets.push({ expr, legend: t.legendFormat ?? '', series, error: null });
      } catch (e) {
        targets.push({ expr, legend: t.legendFormat ?? '', series: [], error: errorMessage(e) });
      }
    }
    results.push({ panel, targets });
  }
  return results;
}

// ---------------------------------------------------------------- rendering

const PALETTE = [
  '#73BF69',
  '#F2CC0C',
  '#8AB8FF',
  '#FF9830',
  '#F2495C',
  '#5794F2',
  '#B877D9',
  '#FADE2A',
  '#96D98D',
  '#FFB357',
  '#CA95E5',
  '#FF7383',
];

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
}

const decimalsFor = (step: number): number =>
  step >= 1 ? 0 : Math.min(8, Math.ceil(-Math.log10(step) - 1e-9));

/** Tick labels in the panel's unit, scaled once for the whole axis (as Grafana does): ms, K, $, ops/s. */
function unitFormatter(unit: string, maxAbs: number, step: number): (v: number) => string {
  const fixed = (v: number, scale: number) => (v / scale).toFixed(decimalsFor(step / scale));
  const siScale = (): [number, string] =>
    maxAbs >= 1e9 ? [1e9, ' B'] : maxAbs >= 1e6 ? [1e6, ' Mil'] : maxAbs >= 1e3 ? [1e3, ' K'] : [1, ''];
  const short = (suffix: string) => {
    const [scale, prefix] = siScale();
    return (v: number) => `${fixed(v, scale)}${prefix}${suffix}`;
  };
  const seconds = (factor: number) => {
    const max = maxAbs * factor;
    const [scale, name]: [number, string] =
      max === 0
        ? [1, 's']
        : max < 1e-3
          ? [1e-6, 'µs']
          : max < 1
            ? [1e-3, 'ms']
            : max < 120
              ? [1, 's']
              : max < 7200
                ? [60, 'min']
                : [3600, 'h'];
    return (v: number) => `${((v * factor) / scale).toFixed(decimalsFor((step * factor) / scale))} ${name}`;
  };
  switch (unit) {
    case 's':
      return seconds(1);
    case 'ms':
      return seconds(1e-3);
    case 'ops':
      return short(' ops/s');
    case 'reqps':
      return short(' req/s');
    case 'currencyUSD': {
      const [scale, prefix] = siScale();
      return (v: number) => `${v < 0 ? '-' : ''}$${fixed(Math.abs(v), scale)}${prefix.trim()}`;
    }
    case 'percentunit':
      return (v: number) => `${(v * 100).toFixed(decimalsFor(step * 100))}%`;
    case 'percent':
      return (v: number) => `${v.toFixed(decimalsFor(step))}%`;
    case 'bytes': {
      const [scale, name]: [number, string] =
        maxAbs >= 2 ** 30
          ? [2 ** 30, 'GiB']
          : maxAbs >= 2 ** 20
            ? [2 ** 20, 'MiB']
            : maxAbs >= 1024
              ? [1024, 'KiB']
              : [1, 'B'];
      return (v: number) => `${fixed(v, scale)} ${name}`;
    }
    case 'short':
    case 'none':
    case '':
      return short('');
    default:
      return short(` ${unit}`);
  }
}

const clock = (s: number): string => new Date(s * 1000).toISOString().slice(11, 19);

interface ChartBox {
  width: number;
  height: number;
}

function chartSvg(
  series: (SeriesData & { color: string })[],
  unit: string,
  startS: number,
  endS: number,
  stepS: number,
  box: ChartBox,
): string {
  const left = 64;
  const right = 10;
  const top = 8;
  const bottom = 22;
  const w = box.width - left - right;
  const h = box.height - top - bottom;
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  let min = Math.min(0, ...values);
  let max = Math.max(...values, 0);
  if (max === min) max = min + 1;
  const yStep = niceStep(max - min, 4);
  min = Math.floor(min / yStep) * yStep;
  max = Math.ceil(max / yStep) * yStep;
  const fmt = unitFormatter(unit, Math.max(Math.abs(min), Math.abs(max)), yStep);
  const x = (t: number) => left + ((t - startS) / (endS - startS)) * w;
  const y = (v: number) => top + h - ((v - min) / (max - min)) * h;
  const parts: string[] = [];
  for (let v = min; v <= max + yStep / 2; v += yStep) {
    parts.push(
      `<line x1="${left}" x2="${left + w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" class="tick" text-anchor="end">${escapeHtml(fmt(v))}</text>`,
    );
  }
  const rangeS = endS - startS;
  const xStep = [5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600].find((s) => rangeS / s <= 7) ?? 7200;
  for (let t = Math.ceil(startS / xStep) * xStep; t <= endS; t += xStep) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${top + h}" class="grid"/>`,
      `<text x="${x(t).toFixed(1)}" y="${top + h + 16}" class="tick" text-anchor="middle">${clock(t)}</text>`,
    );
  }
  for (const s of series) {
    // A gap where Prometheus returned no point (or NaN) for more than a step and a half.
    const runs: string[][] = [];
    let current: string[] = [];
    let lastT = -Infinity;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v) || t - lastT > stepS * 1.5) {
        if (current.length) runs.push(current);
        current = [];
      }
      if (Number.isFinite(v)) {
        current.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
        lastT = t;
      }
    }
    if (current.length) runs.push(current);
    for (const r of runs)
      parts.push(
        r.length === 1
          ? `<circle cx="${r[0]!.split(',')[0]}" cy="${r[0]!.split(',')[1]}" r="1.5" fill="${s.color}"/>`
          : `<polyline points="${r.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.5" stroke-linejoin="round"/>`,
      );
  }
  return `<svg width="${box.width}" height="${box.height}" viewBox="0 0 ${box.width} ${box.height}">${parts.join('')}</svg>`;
}

const PAGE_WIDTH = 1880;
const GRID_GAP = 8;
const COLUMN = (PAGE_WIDTH + GRID_GAP) / 24;
const ROW_HEIGHT = 30;
const MAX_LEGEND = 10;

function panelHtml(r: PanelResult, startS: number, endS: number, stepS: number): string {
  const { panel } = r;
  const unit = panel.fieldConfig?.defaults?.unit ?? 'short';
  const width = Math.round(panel.gridPos.w * COLUMN - GRID_GAP) - 16;
  const height = panel.gridPos.h * ROW_HEIGHT - 56;
  let colour = 0;
  const series = r.targets.flatMap((t) =>
    t.series.map((s) => ({ ...s, color: PALETTE[colour++ % PALETTE.length] ?? '#73BF69' })),
  );
  const errors = r.targets.filter((t) => t.error);
  const empty = series.length === 0;
  const body = empty
    ? `<div class="nodata" style="height:${height}px">${errors.length ? 'Query error' : 'No data'}</div>`
    : chartSvg(series, unit, startS, endS, stepS, { width, height });
  const legend: string[] = series
    .slice(0, MAX_LEGEND)
    .map((s) => `<span class="item"><i style="background:${s.color}"></i>${escapeHtml(s.name)}</span>`);
  if (series.length > MAX_LEGEND)
    legend.push(`<span class="item more">+${series.length - MAX_LEGEND} more</span>`);
  // A target of a panel with several that returned nothing is named, so a half-empty panel shows it too.
  if (!empty)
    for (const t of r.targets.filter((x) => !x.series.length))
      legend.push(
        `<span class="item missing"><i></i>${escapeHtml(t.legend.replace(/\{\{.*?\}\}/g, '…') || t.expr)}: no data</span>`,
      );
  const badge = empty
    ? `<span class="badge">${errors.length ? 'query error' : 'no data'}</span>`
    : r.targets.some((t) => !t.series.length)
      ? '<span class="badge partial">partly no data</span>'
      : '';
  const errorText = errors.map((t) => `<div class="error">${escapeHtml(t.error ?? '')}</div>`).join('');
  return `<section class="panel${empty ? ' empty' : ''}" style="grid-column:${panel.gridPos.x + 1} / span ${panel.gridPos.w}">
<header><h3>${escapeHtml(panel.title)}</h3>${badge}</header>${body}${errorText}<div class="legend">${legend.join('')}</div></section>`;
}

function dashboardHtml(
  dashboard: Dashboard,
  results: PanelResult[],
  window: { startS: number; endS: number; stepS: number },
  subtitle: string,
): string {
  const byId = new Map(results.map((r) => [r.panel.id, r]));
  const blocks: string[] = [];
  let rowPanels: string[] = [];
  const flush = () => {
    if (rowPanels.length) blocks.push(`<div class="grid">${rowPanels.join('\n')}</div>`);
    rowPanels = [];
  };
  const ordered = [...dashboard.panels].sort(
    (a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x,
  );
  for (const p of ordered) {
    if (p.type === 'row') {
      flush();
      blocks.push(`<h2 class="row">⌄ ${escapeHtml(p.title)}</h2>`);
      for (const inner of p.panels ?? []) {
        const r = byId.get(inner.id);
        if (r) rowPanels.push(panelHtml(r, window.startS, window.endS, window.stepS));
      }
      continue;
    }
    const r = byId.get(p.id);
    if (r) rowPanels.push(panelHtml(r, window.startS, window.endS, window.stepS));
  }
  flush();
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(dashboard.title)}</title>
<style>
  body { margin: 0; background: #111217; color: #ccccdc; font: 13px 'Inter', 'Helvetica Neue', Arial, sans-serif; }
  .page { width: ${PAGE_WIDTH}px; padding: 12px 16px 24px; }
  .top { display: flex; align-items: baseline; gap: 16px; border-bottom: 1px solid #2c3235; padding-bottom: 10px; }
  .top h1 { font-size: 18px; font-weight: 500; margin: 0; color: #d8d9da; }
  .top .sub { color: #8e8e8e; font-size: 12px; }
  h2.row { font-size: 15px; font-weight: 500; margin: 16px 0 8px; color: #d8d9da; }
  .grid { display: grid; grid-template-columns: repeat(24, 1fr); gap: ${GRID_GAP}px; }
  .panel { background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; padding: 6px 8px 8px; min-width: 0; }
  .panel.empty { border-color: #8a3a3a; }
  .panel header { display: flex; align-items: center; gap: 8px; height: 24px; }
  .panel h3 { font-size: 13px; font-weight: 500; margin: 0; color: #d8d9da; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .badge { background: #c4162a; color: #fff; border-radius: 2px; padding: 0 6px; font-size: 11px; line-height: 16px; }
  .badge.partial { background: #8a6d00; }
  .nodata { display: flex; align-items: center; justify-content: center; color: #8e8e8e; font-size: 18px; }
  .error { color: #ff7383; font-size: 11px; font-family: monospace; }
  svg { display: block; margin-top: 4px; }
  svg .grid { stroke: #2c3235; stroke-width: 1; }
  svg .tick { fill: #9fa7b3; font-size: 11px; }
  .legend { display: flex; flex-wrap: wrap; gap: 2px 12px; margin-top: 4px; font-size: 12px; }
  .legend .item { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; max-width: 100%; overflow: hidden; text-overflow: ellipsis; }
  .legend i { display: inline-block; width: 14px; height: 4px; border-radius: 2px; }
  .legend .missing { color: #ff9830; }
  .legend .missing i { border-top: 2px dashed #ff9830; height: 0; }
  .legend .more { color: #8e8e8e; }
</style></head>
<body><div class="page">
<div class="top"><h1>${escapeHtml(dashboard.title)}</h1><span class="sub">${escapeHtml(subtitle)}</span></div>
${blocks.join('\n')}
</div></body></html>`;
}

async function screenshot(html: string, file: string): Promise<void> {
  const browser = await testing().launchChromium();
  run.onCleanup(() => browser.close());
  try {
    const page = await browser.newPage({ viewport: { width: PAGE_WIDTH + 32, height: 1000 } });
    await page.setContent(html, { waitUntil: 'load' });
    mkdirSync(dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
  } finally {
    await browser.close();
    run.dropLastCleanup();
  }
}

// ---------------------------------------------------------------- alerts

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  value: string;
}

async function reportAlerts(prometheus: string): Promise<void> {
  const { alerts } = await promApi<{ alerts: PromAlert[] }>(prometheus, '/api/v1/alerts');
  const active = alerts.filter((a) => a.state === 'firing' || a.state === 'pending');
  log(`alerts (Prometheus /api/v1/alerts): ${active.length ? '' : 'none firing or pending'}`);
  for (const a of active.sort((x, y) => x.state.localeCompare(y.state)))
    console.log(
      `    ${a.state.padEnd(7)} ${a.labels.alertname} [${a.labels.severity ?? ''}] since ${a.activeAt.slice(11, 19)}: ${a.annotations.summary ?? ''}`,
    );
  // A rule Prometheus could not evaluate is as silent as one that never fires.
  const { groups } = await promApi<{
    groups: { rules: { name: string; health: string; lastError?: string }[] }[];
  }>(prometheus, '/api/v1/rules');
  const rules = groups.flatMap((g) => g.rules);
  const unhealthy = rules.filter((r) => r.health !== 'ok');
  log(
    `alert rules loaded from deploy/observability/alerts.yml: ${rules.length}, ${unhealthy.length ? `${unhealthy.length} failing to evaluate` : 'all evaluating'}`,
  );
  for (const r of unhealthy) console.log(`    !! ${r.name}: ${r.health} ${r.lastError ?? ''}`);
}

// ---------------------------------------------------------------- the run

async function main(): Promise<boolean> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const out = isAbsolute(opts.out) ? opts.out : join(root, opts.out);
  log(
    `dashboard run ${runId}: ${opts.durationS} s of load, scrape every ${opts.scrapeS} s, SIM_TIME_SCALE=${opts.simTimeScale}`,
  );
  const stack = await startStack();
  const prometheus = await startPrometheus(stack.metricsTargets);
  const startS = Math.floor(Date.now() / 1000);

  const received = new Map<number, number>();
  const receiver = await testing().startReceiver((req) => {
    const status = req.path.endsWith('/down') ? 500 : Math.random() < 1 / 3 ? 500 : 200;
    bump(received, status);
    return { status };
  });
  run.onCleanup(() => receiver.close());
  const receivedByStatus = () => [...received].map(([s, v]) => `${s}×${v}`).join(', ') || 'nothing yet';

  // A few idle scrapes first, so each chart starts from the stack at rest.
  await sleep(3 * opts.scrapeS * 1000);
  const up = await targetsUp(prometheus);
  log(
    `Prometheus ${prometheus}: ${up.up}/${up.total} targets up${up.down.length ? `; down: ${up.down.join(', ')}` : ''}`,
  );
  if (up.up === 0) throw new Error('Prometheus scrapes no service');

  await driveLoad(stack, receiver.url, receivedByStatus);
  log(`settling for ${SETTLE_S} s (the last tasks end, webhooks retry, Prometheus scrapes)`);
  await sleep(SETTLE_S * 1000);
  const endS = Math.floor(Date.now() / 1000);
  const stepS = Math.max(opts.scrapeS, Math.ceil((endS - startS) / 200));

  const results = await queryPanels(prometheus, dashboard, startS, endS, stepS);
  const points = results.reduce((n, r) => n + r.targets.reduce((m, t) => m + t.series.length, 0), 0);
  log(
    `queried ${results.length} panels (${points} series, ${clock(startS)}–${clock(endS)} UTC, step ${stepS} s)`,
  );
  const empty = results.filter((r) => r.targets.every((t) => !t.series.length));
  const partly = results.filter((r) => !empty.includes(r) && r.targets.some((t) => !t.series.length));
  const failed = results.filter((r) => r.targets.some((t) => t.error));
  for (const r of results) {
    const n = r.targets.reduce((m, t) => m + t.series.length, 0);
    console.log(`    ${n ? `${String(n).padStart(3)} series` : ' NO DATA  '}  ${r.panel.title}`);
  }
  for (const r of [...empty, ...partly])
    for (const t of r.targets.filter((x) => !x.series.length))
      log(
        `!! no data: "${r.panel.title}": ${t.error ? `query error ${t.error}` : 'empty result'} for ${t.expr}`,
      );

  await reportAlerts(prometheus);

  const date = new Date(endS * 1000).toISOString().slice(0, 16).replace('T', ' ');
  const subtitle = `npm run bench:dashboard, ${date} UTC: ${Math.round((endS - startS) / 60)} min of mixed load; Prometheus query_range of the dashboard's own expressions, step ${stepS} s`;
  const html = dashboardHtml(dashboard, results, { startS, endS, stepS }, subtitle);
  const htmlFile = join(logDir, 'dashboard.html');
  writeFileSync(htmlFile, html);
  await screenshot(html, out);
  log(`wrote ${out} (from ${htmlFile})`);
  log(
    empty.length
      ? `${empty.length} of ${results.length} panels without data (marked "no data" in the image): ${empty.map((r) => r.panel.title).join('; ')}`
      : `every panel has data (${partly.length} partly: ${partly.map((r) => r.panel.title).join('; ') || 'none'})`,
  );
  return failed.length === 0;
}

run.main(main);

// Chaos benchmark: the long version of apps/e2e/test/chaos.int-spec.ts, on the same harness
// (apps/e2e/test/support/chaos-*.ts). The whole stack runs as child processes on a private Postgres cluster and a
// private Kafka broker (free ports, a temporary directory; the shared 127.0.0.1:5432 and :9092 are not touched), under
// a steady mixed load (fast and reasoning tasks, one in four with a webhookUrl, one in five sent twice at once and
// again later under its Idempotency-Key, one in ten mostly CJK text). While the load runs, each service is killed with
// SIGKILL and restarted, the ledger is frozen (SIGSTOP) for LEDGER_FREEZE_S, the broker and Postgres are restarted.
// After the drain it checks what the suite checks (one outcome per task, no escalation, stable webhooks, audit
// verify, the simulator's bill against the ledger's bookings) and reports the figures and the checks.
//
//   npm run bench:chaos
//   npm run bench:chaos -- --n=300 --rate=10        a short run, to check the benchmark itself
//   REPLICAS=2 BROKERS=3 npm run bench:chaos        scaled out, as the suite runs
//
// Options (flag or environment variable):
//   N (3000)               tasks submitted
//   RATE (100)             submissions per second (open loop)
//   SIM_TIME_SCALE (0.2)   the simulator's delays (0.2: a reasoning call takes about a second)
//   WARMUP_S (10)          load before the first fault
//   GAP_S (5)              between two faults
//   LEDGER_FREEZE_S (10)   how long the ledger is frozen
//   BROKER_DOWN_S (6)      how long the broker is down between its stop and its start
//   POSTGRES_DOWN_S (5)    the same for Postgres
//   DRAIN_TIMEOUT_S (600)  how long accepted tasks may take to end after the load
//   REPLICAS (1)           processes of each service; with 2 or more the first of each is the one killed, and its
//                          consumer groups are watched rebalancing to the survivors before it is restarted
//   BROKERS (1)            1: a single broker node, restarted; 3: a three-node cluster (deploy/local/kafka.sh
//                          --cluster, replication factor 3), one node killed with SIGKILL and restarted
//   NO_BUILD=1             do not build the services first (tsc -b per service)
//   NO_DOCS=1              do not write the results into docs/benchmarks.md
// Child logs: .local/bench/chaos-<service>.log.

import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateChaos, formatChecks } from '../apps/e2e/test/support/chaos-checks.ts';
import { runChaos } from '../apps/e2e/test/support/chaos-run.ts';
import { CHAOS_SERVICES, type ChaosService, startChaosStack } from '../apps/e2e/test/support/chaos-stack.ts';
import { codeVersion, machine, machineLine } from './lib/machine.ts';
import { flagOn, helpFromHeader, numberOption } from './lib/options.ts';
import { writeSectionInPart } from './lib/report.ts';
import { hideKafkajsTimerWarnings, log, logDir, root } from './lib/run.ts';

helpFromHeader(import.meta.url);
hideKafkajsTimerWarnings();

const opts = {
  n: numberOption('N', 3_000),
  rate: numberOption('RATE', 100, { min: 0.1, max: 2_000, integer: false }),
  simTimeScale: numberOption('SIM_TIME_SCALE', 0.2, { min: 0, max: 10, integer: false }),
  warmupS: numberOption('WARMUP_S', 10, { min: 0 }),
  gapS: numberOption('GAP_S', 5, { min: 0 }),
  ledgerFreezeS: numberOption('LEDGER_FREEZE_S', 10),
  brokerDownS: numberOption('BROKER_DOWN_S', 6, { min: 0 }),
  postgresDownS: numberOption('POSTGRES_DOWN_S', 5, { min: 0 }),
  drainTimeoutS: numberOption('DRAIN_TIMEOUT_S', 600),
  replicas: numberOption('REPLICAS', 1, { min: 1, max: 4 }),
  brokers: numberOption('BROKERS', 1, { min: 1, max: 3 }),
};
if (opts.brokers !== 1 && opts.brokers !== 3) throw new Error('BROKERS is 1 or 3');

const PART = {
  heading: '## Chaos (`npm run bench:chaos`)',
  intro: `## Chaos (\`npm run bench:chaos\`)

\`bench/chaos.ts\` is the long version of the chaos suite (\`apps/e2e/test/chaos.int-spec.ts\`) and shares its harness
(\`apps/e2e/test/support/chaos-*.ts\`). Every service runs as \`node apps/<service>/dist/main.js\` on a private
Postgres cluster (initdb into a temporary directory) and a private broker (\`deploy/local/kafka.sh\` with its own
\`KAFKA_STATE_DIR\` and ports), with the model simulator and a webhook receiver. A steady mixed load runs while every
service is killed with SIGKILL and restarted, the ledger is frozen, the broker and Postgres are restarted. After the
drain every party's record is compared: the gateway's statuses, the outcome topics, the webhooks received, the audit
chain's \`verify\`, and the simulator's bill (\`GET /v1/bill\`) against the ledger's bookings, call by call.
`,
};

async function main(): Promise<boolean> {
  const m = machine();
  if (!flagOn('NO_BUILD')) {
    for (const service of ['model-simulator', ...CHAOS_SERVICES]) {
      log(`building apps/${service}`);
      execFileSync(
        process.execPath,
        [join(root, 'node_modules/typescript/bin/tsc'), '-b', `apps/${service}/tsconfig.json`],
        {
          cwd: root,
          stdio: 'inherit',
        },
      );
    }
  }
  mkdirSync(logDir, { recursive: true });
  const logFile = (service: ChaosService) => join(logDir, `chaos-${service}.log`);
  for (const service of ['model-simulator', ...CHAOS_SERVICES] as const) writeFileSync(logFile(service), '');
  log('starting the private Postgres, the private broker and the stack');
  const stack = await startChaosStack({
    root,
    simTimeScale: opts.simTimeScale,
    output: (service, chunk) => appendFileSync(logFile(service), chunk),
    replicas: opts.replicas,
    brokers: opts.brokers === 3 ? 3 : 1,
  });
  const stop = () => {
    void stack.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const run = await runChaos(
      stack,
      {
        tasks: opts.n,
        rate: opts.rate,
        warmupS: opts.warmupS,
        gapS: opts.gapS,
        ledgerFreezeMs: opts.ledgerFreezeS * 1000,
        brokerDownMs: opts.brokerDownS * 1000,
        postgresDownMs: opts.postgresDownS * 1000,
        drainTimeoutMs: opts.drainTimeoutS * 1000,
      },
      log,
    );
    const checks = evaluateChaos(run.observations);
    console.log(formatChecks(checks));
    const o = run.observations;
    const billed = o.bill.reduce((s, r) => s + r.costMicroUsd, 0);
    const booked = o.bookings.reduce((s, b) => s + b.costMicroUsd, 0);
    const accepted = new Set(o.tasks.flatMap((t) => t.answeredIds)).size;
    const count = (topic: string) =>
      new Set(o.outcomes.filter((e) => e.topic === topic).map((e) => e.taskId)).size;
    const section = [
      `### Chaos — ${new Date().toISOString()}`,
      '',
      `- Machine: ${machineLine(m)}`,
      `- Code: ${codeVersion()}`,
      `- Parameters: N=${opts.n}, RATE=${opts.rate}, SIM_TIME_SCALE=${opts.simTimeScale}, WARMUP_S=${opts.warmupS}, ` +
        `GAP_S=${opts.gapS}, LEDGER_FREEZE_S=${opts.ledgerFreezeS}, BROKER_DOWN_S=${opts.brokerDownS}, ` +
        `POSTGRES_DOWN_S=${opts.postgresDownS}, REPLICAS=${opts.replicas}, BROKERS=${opts.brokers}`,
      `- Faults: ${run.phases.map((p) => `${p.name} at +${p.startedS.toFixed(0)} s (${p.tookS.toFixed(1)} s)`).join('; ')}`,
      '',
      '| Figure | Value |',
      '| --- | --- |',
      `| Tasks submitted / accepted | ${o.tasks.length} / ${accepted} |`,
      `| Completed / failed / escalated / cancelled (outcome topics) | ${count('tasks.task.completed.v1')} / ` +
        `${count('tasks.task.failed.v1')} / ${count('tasks.task.escalated.v1')} / ${count('tasks.task.cancelled.v1')} |`,
      `| Load, then drained (s from the first submission) | ${run.loadS.toFixed(0)}, ${run.drainedS.toFixed(0)} |`,
      `| Tasks not terminal when the drain gave up | ${run.undrained} |`,
      `| Outcome events read (redelivered copies included) | ${o.outcomes.length} |`,
      `| Webhook requests received / distinct webhook ids | ${o.webhooks.length} / ${new Set(o.webhooks.map((w) => w.webhookId)).size} |`,
      `| Calls billed by the simulator / bookings in the ledger | ${o.bill.length} / ${o.bookings.length} |`,
      `| Billed / booked (micro-USD) | ${billed} / ${booked} |`,
      `| Gateway answers of 500 | ${o.gateway500s} |`,
      '',
      '| Check | Result |',
      '| --- | --- |',
      ...checks.map((c) => `| ${c.name} | ${c.ok ? '✅' : '❌'} ${c.summary} |`),
    ].join('\n');
    writeSectionInPart(PART, section);
    return checks.every((c) => c.ok);
  } finally {
    await stack.close();
  }
}

main().then(
  (ok) => {
    log(ok ? 'done' : 'done, with failed checks (see above)');
    process.exit(ok ? 0 : 1);
  },
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);

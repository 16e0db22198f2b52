import { buildService } from '@deliberate/testing';
import { resolve } from 'node:path';
import { CHAOS_CHECKS, type CheckResult, evaluateChaos, formatChecks } from './support/chaos-checks';
import { runChaos, type ChaosRunResult } from './support/chaos-run';
import { CHAOS_SERVICES, type ChaosService, type ChaosStack, startChaosStack } from './support/chaos-stack';

// Exactly once, for money and for answers, under chaos and scaled out: two replicas of every service as child
// processes on a private three-node broker cluster (replication factor 3) and a private Postgres cluster, a steady
// mixed load, one replica of each service killed with SIGKILL (two services at a time) and restarted, the ledger's
// frozen for 10 s, one broker node killed with SIGKILL and restarted, Postgres restarted. Once the load has drained,
// every party's record must agree: one outcome per task whichever replica decided it, none handed to a person
// because of an outage, webhooks stable, the audit chain intact, the simulator's bill equal to the ledger's bookings.
// Rebalancing: while a killed replica is down, each consumer group it shared with the survivor is described through
// the Kafka admin API until its members are live processes only (each process has a Kafka client id of its own) and
// every partition of its topics has an owner; then the survivor's consumed-message count (/metrics) must rise. It
// fails on a dead member never evicted, a partition left without an owner, or a survivor that stops consuming.
// The single-runner jobs (ledger sweep, audit checkpoints and retention) run on one replica at a time, whichever
// holds their lock (the single-runner suites of the ledger and the audit show it); what they write is checked by the
// bookings against the bill and the audit chain's verify.
// bench/chaos.ts is the long version (3,000 tasks at 100/s; REPLICAS and BROKERS scale it out).

const ROOT = resolve(__dirname, '../../..');
const TASKS = 240;
const REPLICAS = 2;
const LOG_TAIL_LINES = 40;

let stack: ChaosStack | undefined;
let run: ChaosRunResult;
let checks: CheckResult[];
const transcript: string[] = [];
const serviceTails = new Map<ChaosService, string[]>();

const progress = (line: string) => transcript.push(line);
function keepTail(service: ChaosService, chunk: string): void {
  const tail = serviceTails.get(service) ?? [];
  tail.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
  serviceTails.set(service, tail.slice(-LOG_TAIL_LINES));
}

beforeAll(async () => {
  for (const service of ['model-simulator', ...CHAOS_SERVICES]) buildService(service);
  stack = await startChaosStack({
    root: ROOT,
    simTimeScale: 0.2,
    output: keepTail,
    replicas: REPLICAS,
    brokers: 3,
  });
  progress(`[chaos] stack up: gateway ${stack.gatewayUrl}, broker ${stack.broker}`);
  run = await runChaos(
    stack,
    {
      // Five minutes of load at least, and on until the last fault is over (each SIGKILLed replica's consumer groups
      // wait out its 30 s session before it is restarted), so the survivors of every kill have work; below one task
      // a second, as twelve service processes and three brokers share the machine.
      tasks: TASKS,
      rate: 0.8,
      warmupS: 10,
      gapS: 3,
      ledgerFreezeMs: 10_000,
      brokerDownMs: 3_000,
      postgresDownMs: 3_000,
      drainTimeoutMs: 180_000,
    },
    progress,
  );
  checks = evaluateChaos(run.observations);
  progress(formatChecks(checks));
}, 1_200_000);

// The run's progress, every check and the services' last log lines go to the test output, which prints only for a
// failing test (TEST_LOGS=all prints it for every test).
beforeEach(() => {
  process.stdout.write(`${transcript.join('\n')}\n`);
  for (const [service, tail] of serviceTails) process.stdout.write(`---- ${service}\n${tail.join('\n')}\n`);
});

afterAll(async () => {
  await stack?.close();
}, 120_000);

it('runs the whole load through the models', () => {
  expect(run.observations.tasks.length).toBeGreaterThanOrEqual(TASKS);
  expect(run.observations.bill.length).toBeGreaterThan(0);
});

it.each(CHAOS_CHECKS)('%s', (name) => {
  const result = checks.find((c) => c.name === name);
  expect(result).toBeDefined();
  // The failures name the cases and the summary the counts, so a failing run says what broke without the logs.
  expect({ summary: result!.summary, failures: result!.failures }).toEqual({
    summary: result!.summary,
    failures: [],
  });
});

import { buildService } from '@deliberate/testing';
import { resolve } from 'node:path';
import { CHAOS_CHECKS, type CheckResult, evaluateChaos, formatChecks } from './support/chaos-checks';
import { runChaos, type ChaosRunResult } from './support/chaos-run';
import { CHAOS_SERVICES, type ChaosService, type ChaosStack, startChaosStack } from './support/chaos-stack';

// Exactly once, for money and for answers, under chaos: the whole stack as child processes on a private broker and
// Postgres cluster, a steady mixed load, and every service killed with SIGKILL in turn, the ledger frozen for 10 s,
// the broker and Postgres restarted. Once the load has drained, every party's record must agree: one outcome per
// task, none handed to a person because of an outage, webhooks stable, the audit chain intact, and the simulator's
// bill equal to the ledger's bookings. bench/chaos.ts is the long version (3,000 tasks at 100/s).

const ROOT = resolve(__dirname, '../../..');
const TASKS = 240;
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
  stack = await startChaosStack({ root: ROOT, simTimeScale: 0.2, output: keepTail });
  progress(`[chaos] stack up: gateway ${stack.gatewayUrl}, broker ${stack.broker}`);
  run = await runChaos(
    stack,
    {
      // About four minutes of load: as long as the faults take, each SIGKILLed consumer group waiting out its
      // 30 s session before the restarted service rejoins.
      tasks: TASKS,
      rate: 1,
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
  expect(run.observations.tasks).toHaveLength(TASKS);
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

import { buildService } from '@deliberate/testing';
import { resolve } from 'node:path';
import { type CheckResult, evaluateChaos, formatChecks } from './support/chaos-checks';
import { runChaos, type ChaosRunResult } from './support/chaos-run';
import { CHAOS_SERVICES, type ChaosStack, startChaosStack } from './support/chaos-stack';

// Exactly once, for money and for answers, under chaos: the whole stack as child processes on a private broker and
// Postgres cluster, a steady mixed load, and every service killed with SIGKILL in turn, the ledger frozen for 10 s,
// the broker and Postgres restarted. Once the load has drained, every party's record must agree: one outcome per
// task, none handed to a person because of an outage, webhooks stable, the audit chain intact, and the simulator's
// bill equal to the ledger's bookings. bench/chaos.ts is the long version (3,000 tasks at 100/s).

const ROOT = resolve(__dirname, '../../..');

let stack: ChaosStack | undefined;
let run: ChaosRunResult;
let checks: CheckResult[];

// Progress and the children's logs go to the test output, which prints only for a failing test (TEST_LOGS=all shows
// it as it comes).
const progress = (line: string) => process.stdout.write(`${line}\n`);

beforeAll(async () => {
  for (const service of ['model-simulator', ...CHAOS_SERVICES]) buildService(service);
  stack = await startChaosStack({
    root: ROOT,
    simTimeScale: 0.2,
    output: (service, chunk) => process.stdout.write(`[${service}] ${chunk}`),
  });
  progress(`[chaos] stack up: gateway ${stack.gatewayUrl}, broker ${stack.broker}`);
  run = await runChaos(
    stack,
    {
      // About four minutes of load: as long as the faults take, each SIGKILLed consumer group waiting out its
      // 30 s session before the restarted service rejoins.
      tasks: 240,
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
}, 900_000);

afterAll(async () => {
  await stack?.close();
}, 120_000);

function expectCheck(name: string): void {
  const result = checks.find((c) => c.name === name);
  expect(result).toBeDefined();
  // The failures name the cases and the summary the counts, so a failing run says what broke without the logs.
  expect({ summary: result!.summary, failures: result!.failures }).toEqual({
    summary: result!.summary,
    failures: [],
  });
}

it('accepts every submission once, and answers every replay of an Idempotency-Key with the same task', () => {
  expect(run.observations.tasks.length).toBe(240);
  expectCheck('every submission is accepted, and replays of one Idempotency-Key get one task');
});

it('brings every accepted task to exactly one terminal state', () => {
  expect(run.undrained).toBe(0);
  expectCheck('every accepted task reaches a terminal state at the gateway');
  expectCheck('one terminal event per task, and every duplicate of it carries the same CloudEvents id');
});

it('escalates no task to a person because of an outage', () => {
  expectCheck('no task is escalated to a person because of an outage');
});

it('delivers each webhook id with one body, to every task that asked for one', () => {
  expectCheck(
    'each webhook-id always carries the same body, and every task with a webhookUrl is told its outcome',
  );
});

it('keeps the audit chain verifiable', () => {
  expectCheck('the audit chain verifies');
});

it("books every call of the provider's bill, to the micro-USD", () => {
  expect(run.observations.bill.length).toBeGreaterThan(0);
  expectCheck('every billed call has a ledger booking under its request id');
  expectCheck(
    "each booking equals its bill to the micro-USD (an aborted call's booking is at least its bill)",
  );
  expectCheck('the ledger books at least what the provider bills');
});

it('answers 503 with Retry-After, never 500, while a dependency is down', () => {
  expectCheck('the gateway never answers 500 (an outage is a 503 with Retry-After)');
});

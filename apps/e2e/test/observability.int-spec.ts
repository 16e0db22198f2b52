import type { SpendResponse, TaskResponse } from '@deliberate/contracts';
import {
  pollUntil,
  type PrometheusScrape,
  type Receiver,
  scrapeMetrics,
  startReceiver,
} from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import { createTenant, http, startStack, type TestStack } from './stack';

// Every service serves Prometheus metrics on its HTTP port, and one reasoning task with a webhook moves each
// service's own series: the gateway's task statuses, the triage decision, the reasoner's execution and model calls,
// the ledger's spend, the webhook attempt, the audit records; and every consumer's messages.

let stack: TestStack;
let acme: Awaited<ReturnType<typeof createTenant>>;
let receiver: Receiver;

const SERVICES = ['gateway', 'triage', 'reasoner', 'ledger', 'webhooks', 'audit'] as const;
type Service = (typeof SERVICES)[number];

beforeAll(async () => {
  stack = await startStack('observability');
  acme = await createTenant(stack, 'metered');
  receiver = await startReceiver(() => ({ status: 204, body: '' }));
  const secret = await http(stack, 'POST', '/v1/webhooks/task-secret', { key: acme.admin });
  expect(secret.status).toBe(201);
});

afterAll(async () => {
  await receiver?.close();
  await stack?.close();
});

// The stack starts the triage and the reasoner without their HTTP port (nothing calls them): open it here.
const urls = new Map<Service, string>();
async function urlOf(service: Service): Promise<string> {
  const app: INestApplication = stack[service];
  if (!urls.has(service)) {
    if (!(app.getHttpServer() as { listening: boolean }).listening) await app.listen(0, '127.0.0.1');
    urls.set(service, await app.getUrl());
  }
  return urls.get(service)!;
}

async function scrapeAll(): Promise<Record<Service, PrometheusScrape>> {
  const entries = await Promise.all(
    SERVICES.map(async (s) => [s, await scrapeMetrics(await urlOf(s))] as const),
  );
  return Object.fromEntries(entries) as Record<Service, PrometheusScrape>;
}

it('serves /metrics in the Prometheus text format on every service, without authentication', async () => {
  for (const service of SERVICES) {
    const res = await fetch(new URL('/metrics', await urlOf(service)));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain(`service_name="${service}"`);
  }
});

it("moves each service's series when a reasoning task runs end to end, with bounded labels only", async () => {
  const before = await scrapeAll();

  const submitted = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
    key: acme.submitter,
    body: {
      input: 'Prove step by step that the square root of 2 is irrational.',
      maxCostUsd: 1,
      maxThinkingTokens: 20_000,
      reasoningEffort: 'low',
      webhookUrl: `${receiver.url}/done`,
    },
  });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id;
  const task = await pollUntil(
    async () => (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key: acme.submitter })).body,
    (t) => ['completed', 'failed', 'cancelled', 'needs_human'].includes(t.status),
    { timeoutMs: 60_000, what: `task ${id}` },
  );
  expect(task.status).toBe('completed');
  await pollUntil(
    () => Promise.resolve(receiver.requests.find((r) => r.body.includes(id))),
    (r) => r !== undefined,
    { timeoutMs: 60_000, what: 'the webhook' },
  );

  // Metrics trail the events they count by a commit or a consumed message: poll until every service shows its part.
  const moved = (after: Record<Service, PrometheusScrape>) => {
    // How far one series of one service moved since the first scrape.
    const d = (service: Service, name: string, labels: Record<string, string> = {}) =>
      after[service].value(name, labels) - before[service].value(name, labels);
    return {
      gatewayCompleted: d('gateway', 'deliberate_tasks_status_changes_total', {
        status: 'completed',
        route: 'reasoning',
      }),
      triageReasoning: d('triage', 'deliberate_triage_decisions_total', { route: 'reasoning' }),
      reasonerCalls: d('reasoner', 'gen_ai_client_operation_duration_count', {
        deliberate_model_tier: 'reasoning',
      }),
      reasonerReasoningTokens: d('reasoner', 'gen_ai_client_token_usage_sum', {
        gen_ai_token_type: 'reasoning',
      }),
      reasonerExecutions: d('reasoner', 'deliberate_reasoner_executions_total'),
      ledgerSpend: d('ledger', 'deliberate_ledger_spend_total', { deliberate_tenant_id: 'metered' }),
      webhookAttempts: d('webhooks', 'deliberate_webhooks_attempts_total'),
      auditAppended: d('audit', 'deliberate_audit_records_appended_total'),
      consumed: Object.fromEntries(
        SERVICES.map((s) => [s, d(s, 'messaging_client_consumed_messages_total', { outcome: 'handled' })]),
      ),
    };
  };
  const { delta, after } = await pollUntil(
    async () => {
      const scraped = await scrapeAll();
      return { delta: moved(scraped), after: scraped };
    },
    ({ delta: d }) =>
      d.gatewayCompleted >= 1 &&
      d.reasonerExecutions >= 1 &&
      d.ledgerSpend > 0 &&
      d.webhookAttempts >= 1 &&
      d.auditAppended >= 1 &&
      Object.values(d.consumed).every((n) => n > 0),
    { timeoutMs: 30_000, what: 'every service to count the task' },
  );

  expect(delta.gatewayCompleted).toBe(1);
  expect(delta.triageReasoning).toBe(1);
  expect(delta.reasonerCalls).toBeGreaterThanOrEqual(1);
  expect(delta.reasonerReasoningTokens).toBe(task.result!.usage!.reasoningTokens);
  expect(delta.reasonerExecutions).toBe(1);
  // The tenant's only task: what the ledger reports it spent is what its spend series counted, in USD.
  const spend = await http<SpendResponse>(stack, 'GET', '/v1/ledger/spend', { key: acme.admin });
  expect(delta.ledgerSpend).toBeCloseTo(spend.body.total.costMicroUsd / 1e6, 9);
  expect(delta.webhookAttempts).toBe(1);
  expect(delta.auditAppended).toBeGreaterThanOrEqual(5);

  // Counters an alert watches are served from the start, at 0 until their first event.
  expect(after.audit.find('deliberate_audit_verify_failures_total')).toEqual([
    expect.objectContaining({ value: 0 }),
  ]);
  expect(after.webhooks.find('deliberate_webhooks_dead_letters_total')).toEqual([
    expect.objectContaining({ value: 0 }),
  ]);

  // Every service but the audit (its jobs run every minute and every hour by default) runs a periodic job within
  // seconds of its start (the gateway's and the ledger's every 5 s): each is counted under its name.
  const ranJobs = (scrape: PrometheusScrape) => scrape.find('deliberate_jobs_runs_total', { outcome: 'ran' });
  const withJobs = await pollUntil(
    scrapeAll,
    (scrapes) => SERVICES.filter((s) => s !== 'audit').every((s) => ranJobs(scrapes[s]).length > 0),
    { what: 'a periodic job run counted by every service but the audit', timeoutMs: 30_000, intervalMs: 500 },
  );
  for (const service of SERVICES) {
    for (const run of ranJobs(withJobs[service]))
      expect(run.labels['deliberate_job_name']).toMatch(/^[a-z][a-z ]+$/);
  }

  // Bounded labels: no task, request or event id anywhere, and the tenant only on the ledger's per-tenant series.
  for (const service of SERVICES) {
    expect(after[service].text).not.toContain(id);
    // A process's own ephemeral groups (breaker and policy caches) appear under their stable names.
    expect(after[service].text).not.toMatch(/messaging_consumer_group_name="[^"]*\.[0-9a-f]{8}"/);
    for (const sample of after[service].samples) {
      if (sample.labels['deliberate_tenant_id'] !== undefined) {
        expect(service).toBe('ledger');
        expect(sample.name).toMatch(/^deliberate_ledger_/);
      }
    }
  }
});

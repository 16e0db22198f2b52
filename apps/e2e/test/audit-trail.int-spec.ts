import type { TaskResponse } from '@deliberate/contracts';
import { pollUntil, type Receiver, startReceiver } from '@deliberate/testing';
import { createTenant, http, PLATFORM_AUDITOR_KEY, startStack, type TestStack } from './stack';

// The audit trail of one task through the whole stack: HTTP submit, triage (with the classifier's prompt), the
// reasoning model running out of thinking budget, the fallback to the standard model, the answer and its webhook
// delivery. Read back through the gateway by the tenant's auditor, with the prompts and the context each model saw,
// and verified.

interface TimelineEntry {
  type: string;
  seq: number;
  route: string | null;
  model: string | null;
  status: string | null;
  decision: string | null;
  data: Record<string, unknown>;
  recordHash: string;
}

let stack: TestStack;
let acme: Awaited<ReturnType<typeof createTenant>>;
let globex: Awaited<ReturnType<typeof createTenant>>;
let receiver: Receiver;
let receiverUrl: string;

beforeAll(async () => {
  stack = await startStack('audit-trail');
  acme = await createTenant(stack, 'acme');
  globex = await createTenant(stack, 'globex');
  receiver = await startReceiver(() => ({ status: 204, body: '' }));
  receiverUrl = `${receiver.url}/hook`;
});

afterAll(async () => {
  await receiver?.close();
  await stack?.close();
});

it('keeps a complete, verifiable timeline of a task that fell back from the reasoning to the standard model', async () => {
  expect((await http(stack, 'POST', '/v1/webhooks/task-secret', { key: acme.admin })).status).toBe(201);
  const submitted = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
    key: acme.submitter,
    body: {
      input: 'Optimise the delivery schedule step by step. [[sim:reasoning_tokens=500000]]',
      context: [{ id: 'routes', title: 'Routes', content: 'Depot A serves the north; depot B the south.' }],
      maxThinkingTokens: 2_000,
      webhookUrl: receiverUrl,
      metadata: { case: 'schedule-42' },
    },
  });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id;
  const task = await pollUntil(
    async () => (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key: acme.submitter })).body,
    (t) => ['completed', 'failed', 'needs_human'].includes(t.status),
    { timeoutMs: 60_000, what: `task ${id}` },
  );
  expect(task.result).toMatchObject({ answeredBy: 'standard_model' });

  const types = (entries: TimelineEntry[]) => entries.map((e) => e.type);
  const timeline = await pollUntil(
    async () =>
      (
        await http<{ entries?: TimelineEntry[] }>(stack, 'GET', `/v1/audit/tasks/${id}`, {
          key: acme.auditor,
        })
      ).body,
    (t) =>
      !!t.entries &&
      types(t.entries).includes('tasks.task.completed.v1') &&
      types(t.entries).filter((x) => x === 'reasoning.trace.recorded.v1').length === 2 &&
      types(t.entries).filter((x) => x === 'usage.model-call.recorded.v1').length >= 3 &&
      types(t.entries).includes('webhooks.delivery.attempted.v1'),
    { timeoutMs: 30_000, what: 'the complete timeline' },
  );
  const entries = timeline.entries!;
  const of = (type: string) => entries.filter((e) => e.type === type);

  // Input, as accepted.
  expect(of('tasks.task.accepted.v1')[0]!.data).toMatchObject({
    spec: { input: expect.stringContaining('delivery schedule'), metadata: { case: 'schedule-42' } },
  });
  // The routing decision with its reason, and the classifier's own prompt.
  const triaged = of('tasks.task.triaged.v1')[0]!;
  expect(triaged).toMatchObject({ route: 'reasoning' });
  expect((triaged.data['decision'] as { reason: string }).reason.length).toBeGreaterThan(0);
  const classify = of('usage.model-call.recorded.v1').find((e) => e.decision === 'classify')!;
  expect(JSON.stringify(classify.data['prompt'])).toContain('delivery schedule');
  // What the reasoning tier was asked to do, with the context it was given.
  expect(JSON.stringify(of('reasoning.task.requested.v1')[0]!.data)).toContain('Depot A serves the north');
  // Both attempts: the prompt each model saw (context included), the reasoning model's limit, the fallback's answer.
  const started = of('tasks.task.reasoning-started.v1');
  expect(started.map((e) => e.route)).toEqual(['reasoning', 'standard']);
  const traces = of('reasoning.trace.recorded.v1');
  const reasoning = traces.find((e) => e.route === 'reasoning')!;
  const standard = traces.find((e) => e.route === 'standard')!;
  expect(reasoning).toMatchObject({ model: 'sim-reasoner', status: 'limit_hit' });
  expect(standard).toMatchObject({ model: 'sim-standard', status: 'answered' });
  for (const trace of traces)
    expect(JSON.stringify(trace.data['prompt'])).toContain('Depot A serves the north');
  expect(standard.data['answer']).toEqual(expect.any(String));
  // Models, tokens and cost of each call.
  const calls = of('usage.model-call.recorded.v1').filter((e) => e.decision === 'reason');
  expect(calls.map((c) => c.model).sort()).toEqual(['sim-reasoner', 'sim-standard']);
  expect(calls.every((c) => (c.data['usage'] as { outputTokens: number }).outputTokens > 0)).toBe(true);
  // The answer and who gave it.
  expect(of('tasks.task.completed.v1')[0]).toMatchObject({
    status: 'completed',
    decision: 'standard_model',
    model: 'sim-standard',
  });

  // The webhook that told the client.
  expect(of('webhooks.delivery.attempted.v1')[0]).toMatchObject({
    status: 'delivered',
    decision: 'task.completed',
    data: { attempt: 1, httpStatus: 204, url: receiverUrl },
  });

  // Another tenant's auditor does not see it; the platform auditor does; the chain verifies.
  expect((await http(stack, 'GET', `/v1/audit/tasks/${id}`, { key: globex.auditor })).status).toBe(404);
  expect((await http(stack, 'GET', `/v1/audit/tasks/${id}`, { key: PLATFORM_AUDITOR_KEY })).status).toBe(200);
  expect((await http(stack, 'GET', `/v1/audit/tasks/${id}`, { key: acme.submitter })).status).toBe(403);
  const verify = await http<{ ok: boolean; checked: number }>(stack, 'GET', '/v1/audit/verify', {
    key: acme.auditor,
  });
  expect(verify.body).toMatchObject({ ok: true });
  expect(verify.body.checked).toBeGreaterThanOrEqual(entries.length);
});

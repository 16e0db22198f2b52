import {
  CE_HEADERS,
  modelCallRecordedEvent,
  reasoningTraceRecordedEvent,
  taskReasoningStartedEvent,
  type SpendResponse,
  type TaskResponse,
} from '@deliberate/contracts';
import { collectMessages, header, pollUntil } from '@deliberate/testing';
import { createTenant, http, startStack, type TestStack } from './stack';

// The reasoning path through the whole stack: HTTP submit, triage, the executor with a real ledger hold, the
// externalized trace for the audit store, and the fallback to the standard model when thinking runs away.

let stack: TestStack;
let acme: Awaited<ReturnType<typeof createTenant>>;

beforeAll(async () => {
  stack = await startStack('reasoning');
  acme = await createTenant(stack, 'acme');
});

afterAll(async () => {
  await stack?.close();
});

async function submit(body: unknown): Promise<string> {
  const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', { key: acme.submitter, body });
  expect(res.status).toBe(202);
  return res.body.id;
}

const waitForTerminal = (id: string) =>
  pollUntil(
    async () => (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key: acme.submitter })).body,
    (t) => ['completed', 'failed', 'cancelled', 'needs_human'].includes(t.status),
    { timeoutMs: 30_000, what: `task ${id}` },
  );

const byTask = (id: string) => (m: { headers?: unknown }) => header(m as never, CE_HEADERS.taskId) === id;

it('answers a hard task with the reasoning model, under a ledger hold, and records its trace', async () => {
  const id = await submit({
    input: 'Prove step by step that the square root of 2 is irrational.',
    maxCostUsd: 1,
    maxThinkingTokens: 20_000,
    reasoningEffort: 'low',
  });
  const task = await waitForTerminal(id);
  expect(task.status).toBe('completed');
  expect(task.triage).toMatchObject({ route: 'reasoning' });
  expect(task.result).toMatchObject({ answeredBy: 'reasoning_model', model: 'sim-reasoner', degraded: null });
  expect(task.result!.answer.length).toBeGreaterThan(0);
  expect(task.result!.answer).not.toContain('<reasoning>');
  expect(task.result!.usage!.reasoningTokens).toBeGreaterThan(0);

  const [started] = await collectMessages(stack.topic(taskReasoningStartedEvent.topic), 1, {
    filter: byTask(id),
  });
  expect(JSON.parse(started!.value!.toString())).toMatchObject({
    attempt: 1,
    tier: 'reasoning',
    maxCompletionTokens: 20_000,
  });

  const [trace] = await collectMessages(stack.topic(reasoningTraceRecordedEvent.topic), 1, {
    filter: byTask(id),
  });
  const recorded = JSON.parse(trace!.value!.toString());
  expect(recorded).toMatchObject({ model: 'sim-reasoner', parse: 'tagged', outcome: 'answered' });
  expect(recorded.trace.length).toBeGreaterThan(0);
  expect(recorded.prompt.map((m: { content: string }) => m.content).join('\n')).toContain('square root of 2');

  // The reasoning call spent against a reservation, and the ledger booked it.
  const usage = await collectMessages(stack.topic(modelCallRecordedEvent.topic), 1, {
    filter: (m) => byTask(id)(m) && m.value!.toString().includes('"tier":"reasoning"'),
  });
  const call = JSON.parse(usage[0]!.value!.toString());
  expect(call.reservationId).toEqual(expect.any(String));
  const spend = await pollUntil(
    async () =>
      (await http<SpendResponse>(stack, 'GET', '/v1/ledger/spend?groupBy=model', { key: acme.admin })).body,
    (s) => s.rows?.some((r) => r.key === 'sim-reasoner'),
    { timeoutMs: 20_000, what: 'the reasoning call booked' },
  );
  expect(spend.rows.find((r) => r.key === 'sim-reasoner')!.reasoningTokens).toBe(call.usage.reasoningTokens);
});

it('stops runaway thinking at the token limit and falls back to the standard model, marked degraded', async () => {
  const id = await submit({
    input: 'Optimise the schedule step by step. [[sim:reasoning_tokens=500000]]',
    maxThinkingTokens: 2_000,
  });
  const task = await waitForTerminal(id);
  expect(task.status).toBe('completed');
  expect(task.result).toMatchObject({ answeredBy: 'standard_model', model: 'sim-standard' });
  expect(task.result!.degraded!.reason).toEqual(expect.any(String));

  const traces = await collectMessages(stack.topic(reasoningTraceRecordedEvent.topic), 2, {
    filter: byTask(id),
  });
  const outcomes = traces.map(
    (m) => JSON.parse(m.value!.toString()) as { tier: string; outcome: string; finishReason: string },
  );
  const reasoning = outcomes.find((o) => o.tier === 'reasoning')!;
  expect(reasoning).toMatchObject({ outcome: 'limit_hit', finishReason: 'length' });
});

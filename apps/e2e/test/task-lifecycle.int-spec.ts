import {
  CE_HEADERS,
  deadLetterTopic,
  modelCallRecordedEvent,
  reasoningRequestedEvent,
  taskAcceptedEvent,
  taskCompletedEvent,
  taskSubmittedEvent,
  type TaskResponse,
  uuidv7,
} from '@deliberate/contracts';
import { collectMessages, header, pollUntil, signedIntakeHeaders, testKafka } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { ADMIN_KEY, createTenant, http, startStack, type TestStack } from './stack';

// The walking skeleton end to end: HTTP and Kafka submissions, triage by the fast model, the read model,
// dead letters, and every bad input the gateway must refuse precisely. Real Kafka, real Postgres, the simulator.

let stack: TestStack;
let acme: Awaited<ReturnType<typeof createTenant>>;
let globex: Awaited<ReturnType<typeof createTenant>>;
let producer: Producer;
// Signs acme's submissions on the intake topic.
let acmeIntakeSecret: string;

const terminal = (t: TaskResponse) => ['completed', 'failed', 'cancelled'].includes(t.status);

async function submit(body: unknown, key = acme.submitter, headers: Record<string, string> = {}) {
  return http<{ id: string; status: string; location: string } & Record<string, unknown>>(
    stack,
    'POST',
    '/v1/tasks',
    { key, body, headers },
  );
}

async function waitForTask(id: string, until: (t: TaskResponse) => boolean = terminal, key = acme.submitter) {
  return pollUntil(
    async () => (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key })).body,
    until,
    { timeoutMs: 30_000, what: `task ${id}` },
  );
}

beforeAll(async () => {
  stack = await startStack('lifecycle');
  acme = await createTenant(stack, 'acme');
  globex = await createTenant(stack, 'globex');
  const issued = await http<{ secret: string }>(stack, 'POST', '/v1/admin/tenants/acme/intake-secrets', {
    key: acme.admin,
  });
  if (issued.status !== 201)
    throw new Error(`intake secret: ${issued.status} ${JSON.stringify(issued.body)}`);
  acmeIntakeSecret = issued.body.secret;
  producer = testKafka().producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await stack?.close();
});

describe('HTTP submission', () => {
  it('answers a simple task on the fast path: 202 + Location, then completed and pollable', async () => {
    const res = await submit({ input: 'What is the capital of France?', metadata: { ticket: 'T-1' } });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/tasks/${res.body.id}`);
    expect(res.body).toEqual({ id: res.body.id, status: 'accepted', location: `/v1/tasks/${res.body.id}` });

    const pending = await http(stack, 'GET', `/v1/tasks/${res.body.id}`, { key: acme.submitter });
    if (pending.body['status'] !== 'completed')
      expect(Number(pending.headers.get('retry-after'))).toBeGreaterThan(0);

    const task = await waitForTask(res.body.id);
    expect(task.status).toBe('completed');
    expect(task.submittedVia).toBe('http');
    expect(task.metadata).toEqual({ ticket: 'T-1' });
    expect(task.triage).toMatchObject({
      route: 'fast',
      decidedBy: 'model',
      classification: { complexity: 'simple' },
    });
    expect(task.result).toMatchObject({ answeredBy: 'fast_model', model: 'sim-fast', degraded: null });
    expect(task.result!.answer).toContain('capital of France');
    expect(task.result!.usage!.inputTokens).toBeGreaterThan(0);
    expect(task.result!.usage!.outputTokens).toBeGreaterThan(0);

    // One usage event per model call: the classification and the answer.
    const usage = await collectMessages(stack.topic(modelCallRecordedEvent.topic), 2, {
      filter: (m) => header(m, CE_HEADERS.taskId) === res.body.id,
    });
    const purposes = usage
      .map((m) => (JSON.parse(m.value!.toString()) as { purpose: string }).purpose)
      .sort();
    expect(purposes).toEqual(['answer', 'classify']);
    for (const m of usage) {
      const data = JSON.parse(m.value!.toString());
      expect(data).toMatchObject({ tier: 'fast', model: 'sim-fast', outcome: 'ok' });
      expect(data.usage.inputTokens).toBeGreaterThan(0);
      expect(header(m, CE_HEADERS.tenantId)).toBe('acme');
    }
  });

  it('sends a complex task to the reasoning tier with everything the executor needs', async () => {
    const body = {
      input: 'Prove step by step that the sum of two odd numbers is even, then derive the general case.',
      context: [{ id: 'doc-1', title: 'Parity', content: 'An odd number is 2k+1.' }],
      maxCostUsd: 0.25,
      latencyBudgetMs: 120_000,
      metadata: { case: 'parity' },
    };
    const res = await submit(body);
    expect(res.status).toBe(202);
    const task = await waitForTask(res.body.id, (t) => t.triage?.route === 'reasoning');
    expect(task.triage).toMatchObject({
      route: 'reasoning',
      decidedBy: 'model',
      classification: { complexity: 'complex' },
    });

    const [message] = await collectMessages(stack.topic(reasoningRequestedEvent.topic), 1, {
      filter: (m) => header(m, CE_HEADERS.taskId) === res.body.id,
    });
    expect(header(message!, CE_HEADERS.type)).toBe(reasoningRequestedEvent.topic);
    expect(header(message!, CE_HEADERS.tenantId)).toBe('acme');
    const data = JSON.parse(message!.value!.toString());
    expect(data.spec).toEqual({
      input: body.input,
      context: body.context,
      mode: 'auto',
      latencyBudgetMs: 120_000,
      maxCostMicroUsd: 250_000,
      maxThinkingTokens: null,
      reasoningEffort: null,
      webhookUrl: null,
      metadata: { case: 'parity' },
      // Every reservation for the task is held against the submitting key's and the project's budgets too.
      project: null,
      apiKeyId: expect.any(String) as string,
    });
    expect(data.decision.route).toBe('reasoning');
  });

  it('passes only the top-ranked context documents to the reasoning tier, with the ranking reasons', async () => {
    const context = [
      { id: 'weather', title: 'Weather', content: 'Tomorrow will be sunny with light winds.' },
      {
        id: 'rates',
        title: 'Rates',
        content: 'The central bank raised interest rates; mortgage payments increase.',
      },
      { id: 'menu', title: 'Menu', content: 'The canteen serves soup on Fridays.' },
      { id: 'income', title: 'Income', content: 'The applicant income covers mortgage payments twice over.' },
      { id: 'sport', title: 'Sport', content: 'The local team won on Sunday.' },
    ];
    const res = await submit({
      input:
        'Analyse step by step whether the mortgage payments remain affordable after the interest rates rise.',
      context,
    });
    const [message] = await collectMessages(stack.topic(reasoningRequestedEvent.topic), 1, {
      filter: (m) => header(m, CE_HEADERS.taskId) === res.body.id,
    });
    const data = JSON.parse(message!.value!.toString());
    expect(data.spec.context.map((d: { id: string }) => d.id).sort()).toEqual(['income', 'rates']);
    expect(data.contextSelection).toHaveLength(5);
    const kept = data.contextSelection.filter((e: { kept: boolean }) => e.kept);
    expect(kept.map((e: { id: string }) => e.id).sort()).toEqual(['income', 'rates']);
    for (const entry of data.contextSelection) expect(entry.reason).toEqual(expect.any(String));
    // The ranking is a fast-model call of its own, booked like every other.
    await collectMessages(stack.topic(modelCallRecordedEvent.topic), 1, {
      filter: (m) =>
        header(m, CE_HEADERS.taskId) === res.body.id && m.value!.toString().includes('"rank-context"'),
    });
  });

  it('applies the rules before asking any model: explicit mode and the latency budget', async () => {
    const explicit = await submit({ input: 'What is 2 + 2?', mode: 'reasoning' });
    const urgent = await submit({
      input: 'Prove step by step that primes are infinite.',
      latencyBudgetMs: 1_500,
    });
    const fast = await submit({ input: 'Analyse the trade-offs of three plans step by step.', mode: 'fast' });

    const e = await waitForTask(explicit.body.id, (t) => t.triage?.route === 'reasoning');
    expect(e.triage).toMatchObject({
      route: 'reasoning',
      decidedBy: 'rule',
      rule: 'explicit-mode',
      classification: null,
    });
    const u = await waitForTask(urgent.body.id);
    expect(u.triage).toMatchObject({ route: 'fast', decidedBy: 'rule', rule: 'latency-budget' });
    expect(u.status).toBe('completed');
    const f = await waitForTask(fast.body.id);
    expect(f.triage).toMatchObject({ route: 'fast', rule: 'explicit-mode' });
    expect(f.status).toBe('completed');
  });

  it('fails the task with a reason when the fast model keeps failing, and falls back to reasoning when the classifier does', async () => {
    // A 500 is retried until the task's deadline, each try scheduled in the triage's record, then the task fails
    // naming the fast model and what it answered.
    const broken = await submit({ input: 'Say hi [[sim:fault=500]]', mode: 'fast', latencyBudgetMs: 2000 });
    const failed = await waitForTask(broken.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'deadline_exceeded' });
    expect(failed.error!.message).toContain('the fast model');
    expect(failed.error!.message).toContain('server_error');

    const unclassifiable = await submit({ input: 'Say hello [[sim:fault=500]]' });
    const routed = await waitForTask(unclassifiable.body.id, (t) => t.triage?.route === 'reasoning');
    expect(routed.triage).toMatchObject({ route: 'reasoning', decidedBy: 'fallback' });
    expect(routed.triage!.reason).toContain('classifier was unavailable');
  });

  it('returns the same task for the same Idempotency-Key and body, and refuses the key with another body', async () => {
    const key = `order-${randomUUID()}`;
    const first = await submit({ input: 'Summarise: the sky is blue.', metadata: { a: 1 } }, acme.submitter, {
      'idempotency-key': key,
    });
    // Same body with keys in another order is the same request.
    const again = await submit({ metadata: { a: 1 }, input: 'Summarise: the sky is blue.' }, acme.submitter, {
      'idempotency-key': key,
    });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    const conflict = await submit({ input: 'Something else entirely.' }, acme.submitter, {
      'idempotency-key': key,
    });
    expect(conflict.status).toBe(422);
    expect(conflict.body['message']).toContain(
      `Idempotency-Key '${key}' was already used with a different request body`,
    );

    // Keys are per tenant: another tenant may use the same key for its own task.
    const other = await submit({ input: 'Something else entirely.' }, globex.submitter, {
      'idempotency-key': key,
    });
    expect(other.status).toBe(202);
    expect(other.body.id).not.toBe(first.body.id);
  });
});

describe('HTTP bad input', () => {
  it('names each invalid field', async () => {
    const res = await submit({
      input: '',
      mode: 'slow',
      latencyBudgetMs: -5,
      maxCostUsd: 0,
      webhookUrl: 'ftp://x',
      extra: 1,
    });
    expect(res.status).toBe(400);
    const paths = (res.body['issues'] as { path: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(
      expect.arrayContaining(['input', 'mode', 'latencyBudgetMs', 'maxCostUsd', 'webhookUrl']),
    );
    expect(res.body['message']).toMatch(/^invalid request body: /);
    expect(JSON.stringify(res.body['issues'])).toContain('extra');
  });

  it('refuses reasoning mode under a 3 s latency budget, malformed JSON, a missing body and the wrong content type', async () => {
    const conflict = await submit({ input: 'x', mode: 'reasoning', latencyBudgetMs: 1000 });
    expect(conflict.status).toBe(400);
    expect(conflict.body['message']).toContain("mode 'reasoning' needs latencyBudgetMs of at least 3000");

    const malformed = await http(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      rawBody: '{"input": "x",',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body['message']).toMatch(/^malformed JSON body/);

    const missing = await http(stack, 'POST', '/v1/tasks', { key: acme.submitter });
    expect(missing.status).toBe(400);
    expect(missing.body['message']).toContain('a JSON body is required');

    const text = await http(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      rawBody: 'input=hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });

  it('answers 413 with the limit for an oversized body', async () => {
    const res = await submit({ input: 'x'.repeat(100 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body['message']).toContain('exceeds the limit of 65536 bytes');
  });

  it('answers 401 without a valid key, 403 for the wrong role, 404 for unknown and foreign tasks', async () => {
    expect((await http(stack, 'POST', '/v1/tasks', { body: { input: 'x' } })).body['message']).toContain(
      'missing Authorization header',
    );
    expect((await submit({ input: 'x' }, 'dlb_not-a-real-key')).status).toBe(401);
    const malformed = await http(stack, 'GET', `/v1/tasks/${uuidv7()}`, {
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.status).toBe(401);

    const auditorSubmit = await submit({ input: 'x' }, acme.auditor);
    expect(auditorSubmit.status).toBe(403);
    expect(auditorSubmit.body['message']).toContain("role 'auditor' may not call this endpoint");
    expect(
      (await http(stack, 'POST', '/v1/admin/tenants', { key: acme.admin, body: { id: 'evil', name: 'x' } }))
        .status,
    ).toBe(403);
    expect((await submit({ input: 'x' }, ADMIN_KEY)).status).toBe(403);

    expect((await http(stack, 'GET', `/v1/tasks/${uuidv7()}`, { key: acme.submitter })).status).toBe(404);
    expect((await http(stack, 'GET', '/v1/tasks/not-a-uuid', { key: acme.submitter })).status).toBe(404);

    const mine = await submit({ input: 'A private question of acme.' });
    const foreign = await http(stack, 'GET', `/v1/tasks/${mine.body.id}`, { key: globex.submitter });
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.body)).not.toContain('private question');
    // The auditor of the owning tenant can read it.
    expect((await http(stack, 'GET', `/v1/tasks/${mine.body.id}`, { key: acme.auditor })).status).toBe(200);
  });

  it('manages keys: a revoked key stops working, a tenant admin cannot touch another tenant', async () => {
    const created = await http<{ id: string; key: string }>(
      stack,
      'POST',
      '/v1/admin/tenants/acme/api-keys',
      {
        key: acme.admin,
        body: { role: 'submitter', name: 'ci' },
      },
    );
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^dlb_/);
    const listed = await http<unknown[]>(stack, 'GET', '/v1/admin/tenants/acme/api-keys', {
      key: acme.admin,
    });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);

    expect((await http(stack, 'GET', '/v1/admin/tenants/globex/api-keys', { key: acme.admin })).status).toBe(
      404,
    );
    expect(
      (
        await http(stack, 'POST', '/v1/admin/tenants', {
          key: ADMIN_KEY,
          body: { id: 'acme', name: 'again' },
        })
      ).status,
    ).toBe(409);

    const revoked = await http(stack, 'DELETE', `/v1/admin/tenants/acme/api-keys/${created.body.id}`, {
      key: ADMIN_KEY,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body['revokedAt']).not.toBeNull();
    expect((await submit({ input: 'x' }, created.body.key)).status).toBe(401);
  });
});

describe('Kafka submission', () => {
  it('projects and completes a task published by a plain kafkajs producer, in structured and binary mode', async () => {
    const structuredId = randomUUID();
    const binaryId = randomUUID();
    const structuredValue = JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      type: taskSubmittedEvent.topic,
      source: 'urn:upstream:crm',
      tenantid: 'acme',
      taskid: structuredId,
      data: { input: 'Translate "hello" to French.', mode: 'fast', metadata: { from: 'crm' } },
    });
    const binaryValue = JSON.stringify({ input: [{ role: 'user', content: 'What is 3 + 4?' }] });
    await producer.send({
      topic: stack.topic(taskSubmittedEvent.topic),
      messages: [
        {
          key: structuredId,
          headers: {
            'content-type': 'application/cloudevents+json',
            ...signedIntakeHeaders(acmeIntakeSecret, structuredId, structuredValue),
          },
          value: structuredValue,
        },
        {
          key: binaryId,
          headers: {
            ce_specversion: '1.0',
            ce_id: randomUUID(),
            ce_type: taskSubmittedEvent.topic,
            ce_source: 'urn:upstream:erp',
            ce_tenantid: 'acme',
            ce_taskid: binaryId,
            'content-type': 'application/json',
            ...signedIntakeHeaders(acmeIntakeSecret, binaryId, binaryValue),
          },
          value: binaryValue,
        },
      ],
    });
    const structured = await waitForTask(structuredId);
    expect(structured).toMatchObject({
      status: 'completed',
      submittedVia: 'kafka',
      metadata: { from: 'crm' },
    });
    expect(structured.result!.answeredBy).toBe('fast_model');
    const binary = await waitForTask(binaryId);
    expect(binary).toMatchObject({ status: 'completed', submittedVia: 'kafka' });
    // Another tenant cannot see it.
    expect((await http(stack, 'GET', `/v1/tasks/${binaryId}`, { key: globex.submitter })).status).toBe(404);
  });

  it('dead-letters malformed, schema-invalid, unknown-tenant, unsigned and conflicting messages with reasons; valid ones around them complete', async () => {
    const topic = stack.topic(taskSubmittedEvent.topic);
    const envelope = (taskid: string, tenantid: string, data: unknown) =>
      JSON.stringify({
        specversion: '1.0',
        id: randomUUID(),
        type: taskSubmittedEvent.topic,
        source: 'urn:test',
        tenantid,
        taskid,
        data,
      });
    const before = randomUUID();
    const after = randomUUID();
    const conflicting = randomUUID();
    const bad = {
      malformed: randomUUID(),
      invalid: randomUUID(),
      unknownTenant: randomUUID(),
      notCloudEvent: randomUUID(),
      unsigned: randomUUID(),
    };
    // What reaches the handler must be signed for acme; what fails to decode is refused before that.
    const signed = (key: string, value: string) => ({
      key,
      value,
      headers: signedIntakeHeaders(acmeIntakeSecret, key, value),
    });
    await producer.send({
      topic,
      messages: [
        signed(before, envelope(before, 'acme', { input: 'First valid one.', mode: 'fast' })),
        { key: bad.malformed, value: '{"specversion": "1.0", "data": ' },
        { key: bad.invalid, value: envelope(bad.invalid, 'acme', { mode: 'fast', latencyBudgetMs: 'soon' }) },
        { key: bad.unknownTenant, value: envelope(bad.unknownTenant, 'nobody', { input: 'Who am I?' }) },
        { key: bad.notCloudEvent, value: JSON.stringify({ input: 'no envelope' }) },
        { key: bad.unsigned, value: envelope(bad.unsigned, 'acme', { input: 'Unsigned.', mode: 'fast' }) },
        signed(conflicting, envelope(conflicting, 'acme', { input: 'Original body.', mode: 'fast' })),
        signed(
          conflicting,
          envelope(conflicting, 'acme', { input: 'A different body, same task id.', mode: 'fast' }),
        ),
        signed(after, envelope(after, 'acme', { input: 'Last valid one.', mode: 'fast' })),
      ],
    });

    expect((await waitForTask(before)).status).toBe('completed');
    expect((await waitForTask(after)).status).toBe('completed');
    const original = await waitForTask(conflicting);
    expect(original.result!.answer).toContain('Original body');

    // The dead letters of the gateway's intake group, the only consumer of this topic.
    const dead = await collectMessages(stack.topic(deadLetterTopic(taskSubmittedEvent.topic)), 6, {
      timeoutMs: 30_000,
      filter: (m) => header(m, 'dlq_consumer_group') === `${stack.prefix}deliberate.gateway.intake`,
    });
    const byKey = new Map(dead.map((m) => [m.key!.toString(), m]));
    const reason = (key: string) => header(byKey.get(key)!, 'dlq_reason');
    const stage = (key: string) => header(byKey.get(key)!, 'dlq_stage');

    expect(stage(bad.malformed)).toBe('decode');
    expect(reason(bad.malformed)).toContain('value is not valid JSON');
    expect(byKey.get(bad.malformed)!.value!.toString()).toBe('{"specversion": "1.0", "data": ');

    expect(stage(bad.invalid)).toBe('schema');
    expect(reason(bad.invalid)).toContain('input');
    expect(reason(bad.invalid)).toContain('latencyBudgetMs');

    expect(stage(bad.unknownTenant)).toBe('handler');
    expect(reason(bad.unknownTenant)).toBe("unknown tenant 'nobody'");

    expect(stage(bad.notCloudEvent)).toBe('envelope');
    expect(reason(bad.notCloudEvent)).toContain('not a CloudEvent');

    expect(stage(bad.unsigned)).toBe('handler');
    expect(reason(bad.unsigned)).toContain('unsigned submission');
    expect((await http(stack, 'GET', `/v1/tasks/${bad.unsigned}`, { key: acme.submitter })).status).toBe(404);

    expect(stage(conflicting)).toBe('handler');
    expect(reason(conflicting)).toContain(`task id ${conflicting} is already used by a different submission`);
    for (const m of dead) {
      expect(header(m, 'dlq_source_topic')).toBe(topic);
      expect(header(m, 'dlq_source_offset')).toMatch(/^\d+$/);
    }
  });

  it('republishes a replayed submission idempotently: one task, completed once', async () => {
    const id = randomUUID();
    const value = JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      type: taskSubmittedEvent.topic,
      source: 'urn:test',
      tenantid: 'acme',
      taskid: id,
      data: { input: 'Replay me.', mode: 'fast' },
    });
    await producer.send({
      topic: stack.topic(taskSubmittedEvent.topic),
      messages: [
        { key: id, value, headers: signedIntakeHeaders(acmeIntakeSecret, id, value) },
        { key: id, value, headers: signedIntakeHeaders(acmeIntakeSecret, id, value) },
      ],
    });
    expect((await waitForTask(id)).status).toBe('completed');
    const accepted = await collectMessages(stack.topic(taskAcceptedEvent.topic), 1, {
      filter: (m) => header(m, CE_HEADERS.taskId) === id,
    });
    expect(accepted).toHaveLength(1);
    // Give a duplicate the time to show up, then count every accepted event of this task.
    await new Promise((r) => setTimeout(r, 1_500));
    const all = await collectMessages(stack.topic(taskAcceptedEvent.topic), 1, {
      filter: (m) => header(m, CE_HEADERS.taskId) === id,
      timeoutMs: 5_000,
    }).catch(() => []);
    expect(all).toHaveLength(1);
  });
});

describe('durability and tracing', () => {
  it('republishes an accepted task whose event never reached Kafka (outbox relay)', async () => {
    const id = uuidv7();
    const db = new DataSource({ type: 'postgres', url: stack.databaseUrl });
    await db.initialize();
    try {
      const spec = {
        input: 'Lost in transit?',
        context: [],
        mode: 'fast',
        latencyBudgetMs: null,
        maxCostMicroUsd: null,
        webhookUrl: null,
        metadata: {},
      };
      await db.query(
        `INSERT INTO gateway.tasks (id, tenant_id, status, status_rank, mode, spec, submitted_via, request_hash, created_at, updated_at)
         VALUES ($1, 'acme', 'accepted', 0, 'fast', $2, 'http', 'x', now() - interval '10 seconds', now() - interval '10 seconds')`,
        [id, JSON.stringify(spec)],
      );
      // Its accepted event, written with it, that the publish after the commit never sent.
      await db.query(
        `INSERT INTO gateway.outbox (id, topic, tenant_id, task_id, payload, created_at)
         VALUES ($1, $2, 'acme', $1, $3, now() - interval '10 seconds')`,
        [
          id,
          taskAcceptedEvent.topic,
          JSON.stringify({
            spec,
            submittedVia: 'http',
            acceptedAt: new Date(Date.now() - 10_000).toISOString(),
          }),
        ],
      );
    } finally {
      await db.destroy();
    }
    const task = await waitForTask(id);
    expect(task.status).toBe('completed');
    expect(task.result!.answer).toContain('Lost in transit');
  });

  it('carries one trace from the accepted event through triage to the completion', async () => {
    const res = await submit({ input: 'Trace me.', mode: 'fast' });
    await waitForTask(res.body.id);
    const byTask = (m: { headers?: unknown }) => header(m as never, CE_HEADERS.taskId) === res.body.id;
    const [accepted] = await collectMessages(stack.topic(taskAcceptedEvent.topic), 1, { filter: byTask });
    const [completed] = await collectMessages(stack.topic(taskCompletedEvent.topic), 1, { filter: byTask });
    const traceId = (tp: string | undefined) => tp?.split('-')[1];
    expect(header(accepted!, 'traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(traceId(header(completed!, 'traceparent'))).toBe(traceId(header(accepted!, 'traceparent')));
  });
});

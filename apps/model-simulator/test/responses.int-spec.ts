import OpenAI, { BadRequestError, NotFoundError, RateLimitError } from 'openai';
import { pollUntil } from '@deliberate/testing';
import type { BillBody, BilledCall } from '../src/bill/simulator-bill';
import { callCostMicroUsd, pricingAtTier } from '../src/bill/call-cost';
import { startSimulator, type RunningSimulator } from '../src/simulator-app';
import { SIMULATOR_MODELS } from '../src/simulator-models';

// POST/GET /v1/responses and cancel through the official SDK: the same simulation as chat completions, background
// work held by id, each response billed once when it ends.

const reasoner = SIMULATOR_MODELS.find((m) => m.id === 'sim-reasoner')!;

function sdk(sim: RunningSimulator): OpenAI {
  return new OpenAI({
    baseURL: sim.baseURL,
    apiKey: 'k',
    maxRetries: 0,
    timeout: 10_000,
  });
}

async function billed(sim: RunningSimulator): Promise<BilledCall[]> {
  const res = await fetch(`${sim.url}/v1/bill`);
  return ((await res.json()) as BillBody).calls;
}

async function resetBill(sim: RunningSimulator): Promise<void> {
  await fetch(`${sim.url}/v1/bill`, { method: 'DELETE' });
}

async function post(sim: RunningSimulator, path: string, body: string) {
  const res = await fetch(`${sim.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the Responses API at time scale 0', () => {
  let sim: RunningSimulator;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0 });
    client = sdk(sim);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => resetBill(sim));

  it('answers synchronously with reasoning summaries, the same usage as chat completions, and bills it once', async () => {
    const prompt = 'Derive the closed form of 1 + 2 + ... + n. [[sim:reasoning_tokens=1500]]';
    const response = await client.responses.create(
      {
        model: 'sim-reasoner',
        instructions: 'You are careful.',
        input: prompt,
        reasoning: { effort: 'high', summary: 'auto' },
      },
      { headers: { 'x-client-request-id': 'sync-1' } },
    );
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      background: false,
      model: 'sim-reasoner',
      service_tier: 'default',
      incomplete_details: null,
      usage: { output_tokens_details: { reasoning_tokens: 1_500 } },
    });
    expect(response.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(response._request_id).toMatch(/^req_/);
    const [reasoning, message] = response.output;
    expect(reasoning?.type).toBe('reasoning');
    const summary = reasoning?.type === 'reasoning' ? reasoning.summary : [];
    expect(summary).toHaveLength(1);
    expect(summary[0]?.type).toBe('summary_text');
    expect(summary[0]?.text.length).toBeGreaterThan(20);
    expect(reasoning && 'encrypted_content' in reasoning).toBe(false);
    expect(message?.type).toBe('message');
    expect(response.output_text).toMatch(
      /^<reasoning>.+<\/reasoning><answer>Simulated answer from sim-reasoner/,
    );

    // One simulation core: the chat call with the same messages thinks, answers and counts the same.
    const chat = await client.chat.completions.create({
      model: 'sim-reasoner',
      reasoning_effort: 'high',
      messages: [
        { role: 'developer', content: 'You are careful.' },
        { role: 'user', content: prompt },
      ],
    });
    expect(response.output_text).toBe(chat.choices[0]?.message.content);
    expect(response.usage?.input_tokens).toBe(chat.usage?.prompt_tokens);
    expect(response.usage?.output_tokens).toBe(chat.usage?.completion_tokens);

    // Stored: GET returns it as it ended.
    const again = await client.responses.retrieve(response.id);
    expect(again.output).toEqual(response.output);

    const calls = await billed(sim);
    expect(calls.map((c) => [c.api, c.responseId, c.clientRequestId, c.background, c.status])).toEqual([
      ['responses', response.id, 'sync-1', false, 'completed'],
      ['chat.completions', null, null, false, 'completed'],
    ]);
    expect(calls[0]?.usage).toEqual({
      inputTokens: response.usage?.input_tokens,
      cachedInputTokens: 0,
      outputTokens: response.usage?.output_tokens,
      reasoningTokens: 1_500,
    });
  });

  it('is deterministic per prompt, and adds the encrypted reasoning only when asked', async () => {
    const ask = (include: boolean) =>
      client.responses.create({
        model: 'sim-reasoner',
        input: 'Analyse the trade-offs of caching.',
        reasoning: { effort: 'low', summary: 'detailed' },
        ...(include && { include: ['reasoning.encrypted_content' as const] }),
      });
    const [first, second, plain] = await Promise.all([ask(true), ask(true), ask(false)]);
    const encrypted = (r: OpenAI.Responses.Response) =>
      r.output.flatMap((item) => (item.type === 'reasoning' ? [item.encrypted_content] : []));
    expect(encrypted(first)[0]).toMatch(/^sim_enc_[\w-]{43}$/);
    expect(encrypted(second)).toEqual(encrypted(first));
    expect(encrypted(plain)).toEqual([undefined]);
    expect(second.output_text).toBe(first.output_text);
    expect(second.usage).toEqual(first.usage);
  });

  it('ends incomplete when reasoning spends max_output_tokens: no message, usage billed', async () => {
    const response = await client.responses.create({
      model: 'sim-reasoner',
      input: 'Prove Fermat’s little theorem.',
      max_output_tokens: 40,
      reasoning: { summary: 'auto' },
    });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output.map((item) => item.type)).toEqual(['reasoning']);
    expect(response.output_text).toBe('');
    expect(response.usage).toMatchObject({
      output_tokens: 40,
      output_tokens_details: { reasoning_tokens: 40 },
    });
    const [call] = await billed(sim);
    expect(call).toMatchObject({ status: 'incomplete', usage: { outputTokens: 40, reasoningTokens: 40 } });
    expect(call!.costMicroUsd).toBeGreaterThan(0);
  });

  it('runs a background response to its end and lets any client poll it by id', async () => {
    const created = await client.responses.create({
      model: 'sim-reasoner',
      input: 'Plan a trip. [[sim:reasoning_tokens=300]]',
      reasoning: { effort: 'low', summary: 'auto' },
      background: true,
    });
    expect(created.status).toBe('queued');
    expect(created.background).toBe(true);
    expect(created.output).toEqual([]);
    expect(created.usage).toBeNull();

    // Another client (another process, as far as the simulator knows) polls by id.
    const other = sdk(sim);
    const done = await pollUntil(
      () => other.responses.retrieve(created.id),
      (r) => r.status === 'completed',
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(done.usage?.output_tokens_details.reasoning_tokens).toBe(300);
    expect(done.output_text).toContain('Simulated answer from sim-reasoner: Plan a trip.');

    // Polling again neither changes it nor bills it again.
    expect((await other.responses.retrieve(created.id)).usage).toEqual(done.usage);
    const calls = await billed(sim);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ responseId: created.id, background: true, status: 'completed' });
  });

  it('prices flex at the flex price, and refuses flex without capacity (429, not billed) while default is served', async () => {
    const input = 'Summarise the report.';
    const flex = await client.responses.create({ model: 'sim-reasoner', input, service_tier: 'flex' });
    expect(flex.service_tier).toBe('flex');
    const [call] = await billed(sim);
    expect(call).toMatchObject({ serviceTier: 'flex', status: 'completed' });
    expect(call!.costMicroUsd).toBe(callCostMicroUsd(call!.usage, pricingAtTier(reasoner.pricing, 'flex')));
    expect(call!.costMicroUsd).toBeLessThan(callCostMicroUsd(call!.usage, reasoner.pricing));

    const refused = await client.responses
      .create({
        model: 'sim-reasoner',
        input: `${input} [[sim:fault=flex_unavailable]]`,
        service_tier: 'flex',
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(refused).toMatchObject({ status: 429, code: 'resource_unavailable', param: 'service_tier' });

    const viaHeader = await client.responses
      .create(
        { model: 'sim-reasoner', input, service_tier: 'flex', background: true },
        { headers: { 'x-sim-fault': 'flex_unavailable' } },
      )
      .catch((e: unknown) => e);
    expect(viaHeader).toBeInstanceOf(RateLimitError);

    const fallback = await client.responses.create({
      model: 'sim-reasoner',
      input: `${input} [[sim:fault=flex_unavailable]]`,
      service_tier: 'default',
    });
    expect(fallback).toMatchObject({ status: 'completed', service_tier: 'default' });
    expect((await billed(sim)).map((c) => c.serviceTier)).toEqual(['flex', 'default']);
  });

  it('cannot cancel a synchronous response, and answers 404 for ids it does not hold', async () => {
    const sync = await client.responses.create({ model: 'sim-fast', input: 'hi' });
    const notBackground = await client.responses.cancel(sync.id).catch((e: unknown) => e);
    expect(notBackground).toBeInstanceOf(BadRequestError);
    expect(notBackground).toMatchObject({ code: 'not_background' });

    for (const id of ['resp_0000', 'nope', `resp_${'f'.repeat(48)}`]) {
      const get = await client.responses.retrieve(id).catch((e: unknown) => e);
      expect(get).toBeInstanceOf(NotFoundError);
      expect(get).toMatchObject({ code: 'response_not_found', param: 'response_id' });
      const cancel = await client.responses.cancel(id).catch((e: unknown) => e);
      expect(cancel).toBeInstanceOf(NotFoundError);
    }

    // store: false keeps a synchronous response out of memory.
    const unstored = await client.responses.create({ model: 'sim-fast', input: 'hi', store: false });
    expect(await client.responses.retrieve(unstored.id).catch((e: unknown) => e)).toBeInstanceOf(
      NotFoundError,
    );
  });

  it('refuses hostile bodies with a precise 400 in OpenAI’s error shape', async () => {
    const cases: [string, string, string | null, string][] = [
      [
        '{"model":"sim-fast","input":"x","tools":[]}',
        'Unrecognized request argument supplied: tools',
        'tools',
        'unknown_parameter',
      ],
      ['{"model":"sim-fast","input":42}', "Invalid type for 'input'", 'input', 'invalid_type'],
      [
        '{"model":"sim-fast","input":"a\\u0000b"}',
        "Invalid 'input': must not contain NUL",
        'input',
        'invalid_value',
      ],
      [
        '{"model":"sim-fast","input":"x","max_output_tokens":1e400}',
        "'max_output_tokens'",
        'max_output_tokens',
        'invalid_type',
      ],
      [
        '{"model":"sim-fast","input":"x","max_output_tokens":99999999999999999999}',
        "'max_output_tokens'",
        'max_output_tokens',
        'invalid_value',
      ],
      [
        '{"model":"sim-fast","input":"x","background":"true"}',
        "Invalid type for 'background'",
        'background',
        'invalid_type',
      ],
      [
        '{"model":"sim-fast","input":"x","metadata":{"k":1}}',
        "Invalid type for 'metadata.k'",
        'metadata.k',
        'invalid_type',
      ],
      [
        '{"model":"sim-fast","input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}',
        "'input[0].content[0].type'",
        'input[0].content[0].type',
        'invalid_value',
      ],
      [
        '{"model":"sim-fast","input":"x","stream":true}',
        'streaming is not supported',
        'stream',
        'unsupported_value',
      ],
      ['[]', 'The request body must be a JSON object.', null, 'invalid_request_body'],
      ['{"model":"sim-fast","input":', 'could not parse the JSON body', null, 'invalid_json'],
    ];
    for (const [body, message, param, code] of cases) {
      const res = await post(sim, '/responses', body);
      expect({ body, status: res.status, error: res.body['error'] }).toEqual({
        body,
        status: 400,
        error: {
          message: expect.stringContaining(message) as string,
          type: 'invalid_request_error',
          param,
          code,
        },
      });
    }
    expect(await billed(sim)).toEqual([]);

    const streamed = await fetch(`${sim.baseURL}/responses/resp_x?stream=true`);
    expect(streamed.status).toBe(400);
    const unknownQuery = await fetch(`${sim.baseURL}/responses/resp_x?evil=1`);
    expect(((await unknownQuery.json()) as { error: { code: string } }).error.code).toBe('unknown_parameter');
  });

  it('answers 404 model_not_found for a model it does not serve', async () => {
    const error = await client.responses.create({ model: 'gpt-nope', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'model_not_found' });
  });
});

describe('background responses in real time', () => {
  let sim: RunningSimulator;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 1 });
    client = sdk(sim);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => resetBill(sim));

  it('cancels a running response and bills only what it used, once', async () => {
    const created = await client.responses.create({
      model: 'sim-reasoner',
      input: 'Think for ten minutes. [[sim:think_ms=600000]] [[sim:reasoning_tokens=60000]]',
      background: true,
    });
    expect((await client.responses.retrieve(created.id)).status).toBe('in_progress');
    await new Promise((resolve) => setTimeout(resolve, 50));

    const cancelled = await client.responses.cancel(created.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.output).toEqual([]);
    // All of the input, and a sliver of the 60 000 reasoning tokens it had planned.
    expect(cancelled.usage?.input_tokens).toBeGreaterThan(0);
    expect(cancelled.usage?.output_tokens).toBeLessThan(1_000);
    expect(cancelled.usage?.output_tokens_details.reasoning_tokens).toBe(cancelled.usage?.output_tokens);

    // A second cancel and a poll return it as it is, and nothing is billed twice.
    expect((await client.responses.cancel(created.id)).usage).toEqual(cancelled.usage);
    expect((await client.responses.retrieve(created.id)).status).toBe('cancelled');
    const calls = await billed(sim);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      responseId: created.id,
      background: true,
      status: 'cancelled',
      usage: {
        inputTokens: cancelled.usage?.input_tokens,
        outputTokens: cancelled.usage?.output_tokens,
      },
    });
  });

  it('holds a hanging background response until it is cancelled, billing its input only', async () => {
    const created = await client.responses.create(
      { model: 'sim-fast', input: 'Never answer.', background: true },
      { headers: { 'x-sim-fault': 'hang' } },
    );
    expect(created.status).toBe('queued');
    expect((await client.responses.retrieve(created.id)).status).toBe('in_progress');
    const cancelled = await client.responses.cancel(created.id);
    expect(cancelled.usage).toMatchObject({ output_tokens: 0 });
    expect((await billed(sim)).map((c) => c.status)).toEqual(['cancelled']);
  });

  it('goes on with a synchronous response whose client left, and bills it once', async () => {
    const controller = new AbortController();
    const pending = client.responses
      .create(
        { model: 'sim-fast', input: 'Take your time. [[sim:think_ms=300]]' },
        { signal: controller.signal, headers: { 'x-client-request-id': 'gone-1' } },
      )
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toBeInstanceOf(Error);
    const [call] = await pollUntil(
      () => billed(sim),
      (calls) => calls.length > 0,
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    expect(call).toMatchObject({ clientRequestId: 'gone-1', clientConnected: false, status: 'completed' });
    // Held for GET, as a stored response is.
    expect((await client.responses.retrieve(call!.responseId!)).status).toBe('completed');
  });
});

describe('the bound on stored responses', () => {
  it('forgets the oldest ended response first and refuses a new one when all are running', async () => {
    const sim = await startSimulator({ timeScale: 0, maxStoredResponses: 2 });
    const client = sdk(sim);
    try {
      const first = await client.responses.create({ model: 'sim-fast', input: 'one' });
      const hanging = await client.responses.create(
        { model: 'sim-fast', input: 'two', background: true },
        { headers: { 'x-sim-fault': 'hang' } },
      );
      const third = await client.responses.create({ model: 'sim-fast', input: 'three' });
      expect(await client.responses.retrieve(first.id).catch((e: unknown) => e)).toBeInstanceOf(
        NotFoundError,
      );
      expect((await client.responses.retrieve(third.id)).status).toBe('completed');

      const secondHang = await client.responses.create(
        { model: 'sim-fast', input: 'four', background: true },
        { headers: { 'x-sim-fault': 'hang' } },
      );
      const full = await client.responses
        .create({ model: 'sim-fast', input: 'five', background: true })
        .catch((e: unknown) => e);
      expect(full).toBeInstanceOf(RateLimitError);
      expect(full).toMatchObject({ code: 'too_many_responses' });

      await client.responses.cancel(hanging.id);
      await client.responses.cancel(secondHang.id);
      expect((await client.responses.create({ model: 'sim-fast', input: 'six' })).status).toBe('completed');
    } finally {
      await sim.close();
    }
  });
});

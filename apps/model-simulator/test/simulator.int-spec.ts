import OpenAI, {
  APIConnectionTimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { startSimulator, type RunningSimulator } from '../src/simulator-app';
import type { ModelEntry } from '../src/models.controller';

// Jest runs tests in a vm context: fetch's DOMException comes from the outer realm, fails the SDK's
// `instanceof Error` check and loses its AbortError name, so a timeout would look like a connection error.
// Re-creating the error in this realm gives the SDK what it sees in production.
const realmSafeFetch: typeof fetch = (input, init) =>
  fetch(input, init).catch((error: unknown) => {
    if (error instanceof Error || typeof error !== 'object' || error === null) throw error;
    const { name, message } = error as { name?: unknown; message?: unknown };
    throw Object.assign(new Error(typeof message === 'string' ? message : 'fetch failed'), {
      name: typeof name === 'string' ? name : 'Error',
      cause: error,
    });
  });

const CLASSIFIER_FORMAT = {
  type: 'json_schema',
  json_schema: {
    name: 'triage',
    strict: true,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { complexity: { type: 'string', enum: ['simple', 'complex'] }, reason: { type: 'string' } },
      required: ['complexity', 'reason'],
    },
  },
} as const;

describe('model simulator through the official openai SDK', () => {
  let sim: RunningSimulator;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0 });
    client = new OpenAI({
      baseURL: sim.baseURL,
      apiKey: 'any-key',
      maxRetries: 0,
      timeout: 10_000,
      fetch: realmSafeFetch,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers a plain completion with OpenAI-shaped usage', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim-fast',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.content).toBe('Simulated answer from sim-fast: What is the capital of France?');
    expect(completion.model).toBe('sim-fast');
    expect(completion._request_id).toMatch(/^req_/);
    const usage = completion.usage;
    // ceil(9/4)+4 + ceil(30/4)+4
    expect(usage?.prompt_tokens).toBe(7 + 12);
    expect(usage?.completion_tokens).toBe(Math.ceil((choice?.message.content ?? '').length / 4));
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(0);
  });

  it('accepts content as an array of text parts and strips directives from the answer', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim-standard',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello [[sim:think_ms=0]]there' }] }],
    });
    expect(completion.choices[0]?.message.content).toBe('Simulated answer from sim-standard: Hello there');
  });

  it('reports cached tokens for a long, stable system prefix', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim-fast',
      messages: [
        { role: 'system', content: 'x'.repeat(8_000) },
        { role: 'user', content: 'Summarise.' },
      ],
    });
    const usage = completion.usage;
    expect(usage?.prompt_tokens).toBe(2_004 + 7);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(1_920);
  });

  it('counts reasoning tokens as part of completion tokens on the reasoning tier', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim-reasoner',
      messages: [{ role: 'user', content: 'Derive the closed form of 1 + 2 + ... + n.' }],
    });
    const usage = completion.usage;
    const reasoning = usage?.completion_tokens_details?.reasoning_tokens ?? 0;
    const visible = Math.ceil((completion.choices[0]?.message.content ?? '').length / 4);
    // medium effort by default
    expect(reasoning).toBeGreaterThanOrEqual(1_000);
    expect(reasoning).toBeLessThanOrEqual(4_000);
    expect(usage?.completion_tokens).toBe(reasoning + visible);
    expect(completion.choices[0]?.message.content).toMatch(
      /^<reasoning>.+<\/reasoning><answer>Simulated answer from sim-reasoner: Derive the closed form.*<\/answer>$/,
    );
  });

  it('scales reasoning tokens with reasoning_effort and obeys [[sim:reasoning_tokens=N]]', async () => {
    const ask = async (effort: 'minimal' | 'high', text = 'Plan a trip.') =>
      client.chat.completions.create({
        model: 'sim-reasoner',
        reasoning_effort: effort,
        messages: [{ role: 'user', content: text }],
      });
    const minimal = (await ask('minimal')).usage?.completion_tokens_details?.reasoning_tokens ?? -1;
    const high = (await ask('high')).usage?.completion_tokens_details?.reasoning_tokens ?? -1;
    expect(minimal).toBeGreaterThanOrEqual(50);
    expect(minimal).toBeLessThanOrEqual(200);
    expect(high).toBeGreaterThanOrEqual(4_000);
    expect(high).toBeLessThanOrEqual(16_000);
    const forced = await ask('high', 'Plan a trip. [[sim:reasoning_tokens=1234]]');
    expect(forced.usage?.completion_tokens_details?.reasoning_tokens).toBe(1_234);
  });

  it('is deterministic per prompt and seed', async () => {
    const ask = (seed: number) =>
      client.chat.completions.create({
        model: 'sim-reasoner',
        seed,
        messages: [{ role: 'user', content: 'Analyse the trade-offs of caching.' }],
      });
    const first = await ask(7);
    const second = await ask(7);
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(second.usage).toEqual(first.usage);

    const others = await Promise.all([8, 9, 10, 11].map(ask));
    const reasoningCounts = new Set(
      [first, ...others].map((c) => c.usage?.completion_tokens_details?.reasoning_tokens),
    );
    expect(reasoningCounts.size).toBeGreaterThan(1);
  });

  it('ends in finish_reason "length" with empty content when reasoning exhausts max_completion_tokens', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim-reasoner',
      max_completion_tokens: 40,
      messages: [{ role: 'user', content: 'Prove Fermat’s little theorem.' }],
    });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.choices[0]?.message.content).toBe('');
    expect(completion.usage?.completion_tokens).toBe(40);
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(40);
  });

  it('truncates visible content when the budget runs out after reasoning, and honours legacy max_tokens', async () => {
    const reasoned = await client.chat.completions.create({
      model: 'sim-reasoner',
      max_completion_tokens: 105,
      messages: [{ role: 'user', content: 'Compare A and B. [[sim:reasoning_tokens=100]]' }],
    });
    expect(reasoned.choices[0]?.finish_reason).toBe('length');
    expect(reasoned.choices[0]?.message.content).toHaveLength(20);
    expect(reasoned.usage?.completion_tokens).toBe(105);
    expect(reasoned.usage?.completion_tokens_details?.reasoning_tokens).toBe(100);

    const fast = await client.chat.completions.create({
      model: 'sim-fast',
      max_tokens: 3,
      messages: [{ role: 'user', content: 'Tell me a long story about dragons.' }],
    });
    expect(fast.choices[0]?.finish_reason).toBe('length');
    expect(fast.choices[0]?.message.content).toBe('Simulated an');
    expect(fast.usage?.completion_tokens).toBe(3);
    expect(fast.usage?.completion_tokens_details?.reasoning_tokens).toBe(0);
  });

  it('turns runaway thinking into a length stop', async () => {
    const completion = await client.chat.completions.create(
      {
        model: 'sim-reasoner',
        max_completion_tokens: 2_000,
        messages: [{ role: 'user', content: 'Think about everything.' }],
      },
      { headers: { 'x-sim-fault': 'runaway' } },
    );
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.choices[0]?.message.content).toBe('');
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(2_000);
  });

  it('answers the triage classifier schema with valid JSON', async () => {
    const classify = async (text: string) => {
      const completion = await client.chat.completions.create({
        model: 'sim-fast',
        response_format: CLASSIFIER_FORMAT,
        messages: [
          { role: 'system', content: 'Classify the complexity of the request.' },
          { role: 'user', content: text },
        ],
      });
      return JSON.parse(completion.choices[0]?.message.content ?? '') as {
        complexity: string;
        reason: string;
      };
    };
    expect(await classify('What time is it in Tokyo?')).toEqual({
      complexity: 'simple',
      reason: expect.any(String),
    });
    expect((await classify('Prove that there are infinitely many primes.')).complexity).toBe('complex');
    expect((await classify('Explain it step by step, please')).complexity).toBe('complex');
    expect((await classify('word '.repeat(300))).complexity).toBe('complex');
    expect((await classify('Hi [[sim:complexity=complex]]')).complexity).toBe('complex');
    expect((await classify('Prove it [[sim:complexity=simple]]')).complexity).toBe('simple');
  });

  it('fills other JSON schemas with a minimal valid object and json_object with an answer', async () => {
    const schema = await client.chat.completions.create({
      model: 'sim-fast',
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'summary',
          schema: {
            type: 'object',
            properties: {
              title: { type: 'string' },
              score: { type: 'number' },
              ok: { type: 'boolean' },
              tags: { type: 'array', items: { type: 'string' } },
              meta: { type: 'object', properties: {} },
              level: { type: 'string', enum: ['low', 'high'] },
              optional: { type: 'string' },
            },
            required: ['title', 'score', 'ok', 'tags', 'meta', 'level'],
          },
        },
      },
      messages: [{ role: 'user', content: 'Summarise this.' }],
    });
    expect(JSON.parse(schema.choices[0]?.message.content ?? '')).toEqual({
      title: 'simulated',
      score: 0,
      ok: false,
      tags: [],
      meta: {},
      level: 'low',
    });

    const object = await client.chat.completions.create({
      model: 'sim-standard',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'Reply in JSON.' }],
    });
    expect(JSON.parse(object.choices[0]?.message.content ?? '')).toEqual({
      answer: 'Simulated answer from sim-standard: Reply in JSON.',
    });
  });

  it('lets the SDK retry a transient 429 after retry-after', async () => {
    const retrying = new OpenAI({ baseURL: sim.baseURL, apiKey: 'any-key', maxRetries: 2 });
    const started = performance.now();
    const completion = await retrying.chat.completions.create(
      { model: 'sim-fast', messages: [{ role: 'user', content: 'retry me (header)' }] },
      { headers: { 'x-sim-fault': '429x1:retry_after_ms=300' } },
    );
    expect(completion.choices[0]?.message.content).toContain('retry me (header)');
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);

    const viaDirective = performance.now();
    const second = await retrying.chat.completions.create({
      model: 'sim-fast',
      messages: [{ role: 'user', content: 'retry me [[sim:fault=429x2:retry_after_ms=150]]' }],
    });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(performance.now() - viaDirective).toBeGreaterThanOrEqual(250);
  });

  it('returns 429 with retry-after headers when retries are exhausted', async () => {
    const error = await client.chat.completions
      .create(
        { model: 'sim-fast', messages: [{ role: 'user', content: 'limited' }] },
        { headers: { 'x-sim-fault': '429' } },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    const rateLimit = error as RateLimitError;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.code).toBe('rate_limit_exceeded');
    expect(rateLimit.headers.get('retry-after')).toBe('1');
    expect(rateLimit.headers.get('retry-after-ms')).toBe('1000');
  });

  it('surfaces a 500 as an APIError when retries are disabled', async () => {
    const error = await client.chat.completions
      .create(
        { model: 'sim-fast', messages: [{ role: 'user', content: 'break' }] },
        { headers: { 'x-sim-fault': '500' } },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).status).toBe(500);
    expect((error as InternalServerError).type).toBe('server_error');

    const overloaded = await client.chat.completions
      .create({ model: 'sim-fast', messages: [{ role: 'user', content: 'busy [[sim:fault=503]]' }] })
      .catch((e: unknown) => e);
    expect((overloaded as InternalServerError).status).toBe(503);
  });

  it('hangs until the SDK times out or the caller aborts', async () => {
    const timeout = await client.chat.completions
      .create(
        { model: 'sim-fast', messages: [{ role: 'user', content: 'hang (timeout)' }] },
        { headers: { 'x-sim-fault': 'hang' }, timeout: 300 },
      )
      .catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(APIConnectionTimeoutError);

    const controller = new AbortController();
    const pending = client.chat.completions
      .create(
        { model: 'sim-fast', messages: [{ role: 'user', content: 'hang (abort) [[sim:fault=hang]]' }] },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 100);
    expect(await pending).toBeInstanceOf(APIUserAbortError);
  });

  it('rejects streaming, unknown models and malformed bodies in OpenAI’s error shape', async () => {
    const streaming = await client.chat.completions
      .create({ model: 'sim-fast', stream: true, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(streaming).toBeInstanceOf(BadRequestError);
    expect((streaming as BadRequestError).message).toContain('streaming is not supported by the simulator');
    expect((streaming as BadRequestError).param).toBe('stream');

    const unknown = await client.chat.completions
      .create({ model: 'gpt-unknown', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect((unknown as NotFoundError).code).toBe('model_not_found');

    const badRole = await client.chat.completions
      .create({ model: 'sim-fast', messages: [{ role: 'wizard', content: 'x' }] } as never)
      .catch((e: unknown) => e);
    expect(badRole).toBeInstanceOf(BadRequestError);
    expect((badRole as BadRequestError).param).toBe('messages[0].role');
    expect((badRole as BadRequestError).message).toContain("Invalid value for 'messages[0].role'");

    const raw = await fetch(`${sim.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "sim-fast", "messages": [',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({
      error: {
        message: expect.stringContaining('could not parse the JSON body'),
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_json',
      },
    });

    const missing = await fetch(`${sim.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim-fast' }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: {
        message: "Missing required parameter: 'messages'.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'missing_required_parameter',
      },
    });
  });

  it('lists the models with their pricing, and reports health', async () => {
    const models: ModelEntry[] = [];
    for await (const model of client.models.list()) models.push(model as unknown as ModelEntry);
    expect(models.map((m) => m.id)).toEqual(['sim-fast', 'sim-reasoner', 'sim-standard']);
    for (const model of models) {
      expect(model.object).toBe('model');
      expect(model.pricing.unit).toBe('micro_usd_per_1m_tokens');
      expect(model.pricing.input).toBeGreaterThan(0);
      expect(model.pricing.cached_input).toBeLessThanOrEqual(model.pricing.input);
      expect(model.pricing.output).toBeGreaterThan(0);
    }
    const reasoner = (await client.models.retrieve('sim-reasoner')) as unknown as ModelEntry;
    expect(reasoner.reasoning).toBe(true);

    const health = await fetch(`${sim.url}/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});

describe('model simulator timing and configuration', () => {
  it('delays by the simulated time, scaled, and [[sim:think_ms]] overrides the thinking time', async () => {
    const instant = await startSimulator({ timeScale: 0 });
    const scaled = await startSimulator({ timeScale: 0.01 });
    try {
      const request = {
        model: 'sim-reasoner',
        reasoning_effort: 'minimal' as const,
        messages: [{ role: 'user' as const, content: 'Think hard. [[sim:think_ms=30000]]' }],
      };
      const time = async (baseURL: string) => {
        const started = performance.now();
        await new OpenAI({ baseURL, apiKey: 'k', maxRetries: 0 }).chat.completions.create(request);
        return performance.now() - started;
      };
      const fast = await time(instant.baseURL);
      const slow = await time(scaled.baseURL);
      // 30 000 ms of thinking at 1/100 speed is at least 300 ms.
      expect(slow).toBeGreaterThanOrEqual(280);
      expect(slow).toBeGreaterThan(fast);
    } finally {
      await Promise.all([instant.close(), scaled.close()]);
    }
  });

  it('requires SIM_API_KEY when configured', async () => {
    const sim = await startSimulator({ apiKey: 'secret' });
    try {
      const wrong = await new OpenAI({ baseURL: sim.baseURL, apiKey: 'nope', maxRetries: 0 }).models
        .list()
        .catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(AuthenticationError);
      expect((wrong as AuthenticationError).code).toBe('invalid_api_key');
      const right = await new OpenAI({
        baseURL: sim.baseURL,
        apiKey: 'secret',
        maxRetries: 0,
      }).chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }] });
      expect(right.choices[0]?.finish_reason).toBe('stop');
    } finally {
      await sim.close();
    }
  });

  it('injects configured fault rates reproducibly from the seed', async () => {
    const outcomes = async () => {
      const sim = await startSimulator({ faultRate429: 0.3, faultRate500: 0.2, randomSeed: 42 });
      const client = new OpenAI({ baseURL: sim.baseURL, apiKey: 'k', maxRetries: 0 });
      const statuses: number[] = [];
      try {
        for (let i = 0; i < 30; i++) {
          const status = await client.chat.completions
            .create({ model: 'sim-fast', messages: [{ role: 'user', content: `call ${i}` }] })
            .then(
              () => 200,
              (e: unknown) => (e as { status?: number }).status ?? -1,
            );
          statuses.push(status);
        }
      } finally {
        await sim.close();
      }
      return statuses;
    };
    const first = await outcomes();
    expect(first).toContain(429);
    expect(first).toContain(500);
    expect(first).toContain(200);
    expect(await outcomes()).toEqual(first);
  });

  it('closes promptly while calls are still hanging', async () => {
    const sim = await startSimulator();
    const client = new OpenAI({ baseURL: sim.baseURL, apiKey: 'k', maxRetries: 0 });
    const hanging = Array.from({ length: 50 }, (_, i) =>
      client.chat.completions
        .create({ model: 'sim-fast', messages: [{ role: 'user', content: `hang ${i} [[sim:fault=hang]]` }] })
        .catch((e: unknown) => e),
    );
    // Let the requests reach the server before shutting it down.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sim.close();
    const errors = await Promise.all(hanging);
    for (const error of errors) expect(error).toBeInstanceOf(Error);
  });
});

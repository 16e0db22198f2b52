import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import { MetricsModule, ServiceMetrics } from '@deliberate/metrics';
import { LlmModule, ModelCallError, ModelClient, type ModelTierConfig, type ModelTierConfigs } from '../src';

function tiers(baseUrl: string, overrides: Partial<ModelTierConfig> = {}): ModelTierConfigs {
  const tier = (model: string): ModelTierConfig => ({
    baseUrl,
    apiKey: 'sim-key',
    model,
    timeoutMs: 10_000,
    maxRetries: 0,
    ...overrides,
  });
  return { fast: tier('sim-fast'), reasoning: tier('sim-reasoner'), standard: tier('sim-standard') };
}

async function failure(call: Promise<unknown>): Promise<ModelCallError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelCallError);
  return error as ModelCallError;
}

describe('ModelClient against the model simulator', () => {
  const spans = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter: spans });
  const provider = new TracerProvider({ spanProcessors: [processor] });
  // Span export is asynchronous even with the simple processor.
  const finishedSpans = async () => {
    await processor.forceFlush();
    return spans.getFinishedSpans();
  };
  let sim: RunningSimulator;
  let client: ModelClient;

  beforeAll(async () => {
    // Replace the integration setup's silent tracer with one whose spans this suite can read.
    trace.disable();
    trace.setGlobalTracerProvider(provider);
    sim = await startSimulator({ timeScale: 0 });
    client = new ModelClient(tiers(sim.baseURL));
  });
  afterAll(async () => {
    await sim.close();
    trace.disable();
    trace.setGlobalTracerProvider(new TracerProvider());
  });
  beforeEach(() => spans.reset());

  it('maps a reasoning completion onto ModelCallResult and TokenUsage', async () => {
    const result = await client.complete('reasoning', {
      messages: [
        { role: 'system', content: 'You are careful.' },
        { role: 'user', content: 'Derive the quadratic formula. [[sim:reasoning_tokens=1500]]' },
      ],
      reasoningEffort: 'high',
      seed: 1,
    });
    const visible = Math.ceil(result.content.length / 4);
    expect(result).toMatchObject({
      tier: 'reasoning',
      model: 'sim-reasoner',
      finishReason: 'stop',
      reasoningContent: null,
      usage: {
        // ceil(16/4)+4 + ceil(59/4)+4
        inputTokens: 8 + 19,
        cachedInputTokens: 0,
        outputTokens: 1_500 + visible,
        reasoningTokens: 1_500,
      },
    });
    expect(result.content).toMatch(/^<reasoning>.*<\/answer>$/);
    expect(result.requestId).toMatch(/^req_/);
    expect(Number.isInteger(result.latencyMs)).toBe(true);

    const [span] = await finishedSpans();
    expect(span?.name).toBe('chat sim-reasoner');
    expect(span?.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'sim-reasoner',
      'gen_ai.response.model': 'sim-reasoner',
      'gen_ai.usage.input_tokens': 27,
      'gen_ai.usage.output_tokens': 1_500 + visible,
      'gen_ai.usage.reasoning.output_tokens': 1_500,
      'gen_ai.response.finish_reasons': ['stop'],
      'deliberate.model_tier': 'reasoning',
      'server.address': '127.0.0.1',
    });
  });

  it('returns empty content and finish reason "length" when reasoning eats the budget', async () => {
    const result = await client.complete('reasoning', {
      messages: [{ role: 'user', content: 'Prove the Riemann hypothesis.' }],
      maxCompletionTokens: 64,
    });
    expect(result.finishReason).toBe('length');
    expect(result.content).toBe('');
    expect(result.usage).toMatchObject({ outputTokens: 64, reasoningTokens: 64 });
  });

  it('passes a JSON schema response format through', async () => {
    const result = await client.complete('fast', {
      messages: [{ role: 'user', content: 'Compare Rust and Go for a CLI tool.' }],
      responseFormat: {
        type: 'json_schema',
        json_schema: {
          name: 'triage',
          strict: true,
          schema: {
            type: 'object',
            additionalProperties: false,
            properties: {
              complexity: { type: 'string', enum: ['simple', 'complex'] },
              reason: { type: 'string' },
            },
            required: ['complexity', 'reason'],
          },
        },
      },
    });
    expect(JSON.parse(result.content)).toMatchObject({ complexity: 'complex' });
    expect(result.usage.reasoningTokens).toBe(0);
  });

  it('lets the SDK retry a transient 429 and succeeds', async () => {
    const retrying = new ModelClient(tiers(sim.baseURL, { maxRetries: 2 }));
    const started = performance.now();
    const result = await retrying.complete('fast', {
      messages: [{ role: 'user', content: 'retry through the client' }],
      headers: { 'x-sim-fault': '429x1:retry_after_ms=200' },
    });
    expect(result.finishReason).toBe('stop');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('maps an exhausted 429 to rate_limited with the retry-after hint', async () => {
    const error = await failure(
      client.complete('fast', {
        messages: [{ role: 'user', content: 'limited' }],
        headers: { 'x-sim-fault': '429' },
      }),
    );
    expect(error).toMatchObject({
      kind: 'rate_limited',
      retryable: true,
      status: 429,
      code: 'rate_limit_exceeded',
      retryAfterMs: 1_000,
      tier: 'fast',
      model: 'sim-fast',
    });
    expect(error.message).toContain('Rate limit reached for sim-fast');
    const [span] = await finishedSpans();
    expect(span?.status.code).toBe(2);
    expect(span?.attributes['error.type']).toBe('rate_limited');
  });

  it('maps a 500 to server_error', async () => {
    const error = await failure(
      client.complete('standard', { messages: [{ role: 'user', content: 'boom [[sim:fault=500]]' }] }),
    );
    expect(error).toMatchObject({ kind: 'server_error', retryable: true, status: 500 });
  });

  it('maps a hang past the timeout to timeout', async () => {
    const error = await failure(
      client.complete('fast', {
        messages: [{ role: 'user', content: 'hang please' }],
        headers: { 'x-sim-fault': 'hang' },
        timeoutMs: 200,
      }),
    );
    expect(error).toMatchObject({ kind: 'timeout', retryable: true, status: null });
  });

  it('maps a caller abort to aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(
      client.complete('reasoning', {
        messages: [{ role: 'user', content: 'hang [[sim:fault=hang]]' }],
        signal: controller.signal,
      }),
    );
    expect(error).toMatchObject({ kind: 'aborted', retryable: false });
  });

  it('maps unknown models, bad requests, bad keys and unreachable servers', async () => {
    const unknown = new ModelClient({ fast: { ...tiers(sim.baseURL).fast, model: 'gpt-nope' } });
    expect(
      await failure(unknown.complete('fast', { messages: [{ role: 'user', content: 'x' }] })),
    ).toMatchObject({
      kind: 'not_found',
      code: 'model_not_found',
      retryable: false,
    });

    expect(
      await failure(
        client.complete('fast', { messages: [{ role: 'user', content: 'x' }], maxCompletionTokens: 0 }),
      ),
    ).toMatchObject({ kind: 'bad_request', status: 400, retryable: false });

    const locked = await startSimulator({ apiKey: 'the-key' });
    try {
      const wrongKey = new ModelClient(tiers(locked.baseURL, { apiKey: 'wrong' }));
      expect(
        await failure(wrongKey.complete('fast', { messages: [{ role: 'user', content: 'x' }] })),
      ).toMatchObject({
        kind: 'auth',
        status: 401,
      });
    } finally {
      await locked.close();
    }

    const closed = await startSimulator();
    const deadUrl = closed.baseURL;
    await closed.close();
    const dead = new ModelClient(tiers(deadUrl));
    expect(
      await failure(dead.complete('fast', { messages: [{ role: 'user', content: 'x' }] })),
    ).toMatchObject({
      kind: 'connection',
      retryable: true,
    });
  });

  it('refuses a tier it was not configured with', async () => {
    const fastOnly = new ModelClient({ fast: tiers(sim.baseURL).fast });
    expect(fastOnly.tiers).toEqual(['fast']);
    await expect(
      fastOnly.complete('reasoning', { messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toThrow("tier 'reasoning' is not configured");
  });

  it('is injectable through LlmModule.forRoot', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly models: ModelClient) {}
    }
    @Module({ imports: [LlmModule.forRoot(tiers(sim.baseURL))], providers: [Consumer] })
    class AppModule {}

    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const result = await app
        .get(Consumer)
        .models.complete('fast', { messages: [{ role: 'user', content: 'hello' }] });
      expect(result.content).toBe('Simulated answer from sim-fast: hello');
    } finally {
      await app.close();
    }
  });

  // One series of a scrape, by its labels in any order; 0 when absent.
  function series(text: string, name: string, labels: Record<string, string>): number {
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const found = Object.fromEntries(
        [...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
      );
      if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
    }
    return 0;
  }

  it('records the GenAI client metrics of each call: tokens by type and duration, failures by error type', async () => {
    const metrics = new ServiceMetrics('llm-test');
    const measured = new ModelClient(tiers(sim.baseURL), metrics);
    await measured.complete('reasoning', {
      messages: [{ role: 'user', content: 'Think. [[sim:reasoning_tokens=300]]' }],
    });
    await failure(
      measured.complete('standard', { messages: [{ role: 'user', content: 'boom [[sim:fault=500]]' }] }),
    );

    const text = await metrics.render();
    const call = {
      gen_ai_operation_name: 'chat',
      gen_ai_provider_name: 'openai',
      gen_ai_request_model: 'sim-reasoner',
      gen_ai_response_model: 'sim-reasoner',
      deliberate_model_tier: 'reasoning',
    };
    expect(series(text, 'gen_ai_client_token_usage_count', { ...call, gen_ai_token_type: 'input' })).toBe(1);
    expect(series(text, 'gen_ai_client_token_usage_sum', { ...call, gen_ai_token_type: 'reasoning' })).toBe(
      300,
    );
    expect(
      series(text, 'gen_ai_client_token_usage_sum', { ...call, gen_ai_token_type: 'output' }),
    ).toBeGreaterThan(300);
    expect(series(text, 'gen_ai_client_operation_duration_count', call)).toBe(1);
    expect(
      series(text, 'gen_ai_client_operation_duration_count', {
        gen_ai_request_model: 'sim-standard',
        error_type: 'server_error',
      }),
    ).toBe(1);
    // Bounded labels only: no request ids, seeds or token limits.
    expect(text).not.toMatch(/req_|client_request_id|max_tokens|seed/);
    await metrics.shutdown();
  });

  it('takes the service metrics through LlmModule.forRoot when the service has them', async () => {
    @Module({ imports: [MetricsModule.forService('llm-module-test'), LlmModule.forRoot(tiers(sim.baseURL))] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      await app.get(ModelClient).complete('fast', { messages: [{ role: 'user', content: 'hello' }] });
      const text = await app.get(ServiceMetrics).render();
      expect(
        series(text, 'gen_ai_client_operation_duration_count', { gen_ai_request_model: 'sim-fast' }),
      ).toBe(1);
    } finally {
      await app.close();
    }
  });
});

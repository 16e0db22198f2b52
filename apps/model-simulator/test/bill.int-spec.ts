import { ModelCallError, ModelClient, type ModelTierConfig, type ModelTierConfigs } from '@deliberate/llm';
import { pollUntil } from '@deliberate/testing';
import type { BillBody } from '../src/bill/simulator-bill';
import { startSimulator, type RunningSimulator } from '../src/simulator-app';
import { SIMULATOR_MODELS } from '../src/simulator-models';

// The simulator's bill: every call it finished generating, at its price list, under the caller's request id.

function tiers(baseUrl: string, apiKey = 'sim-key'): ModelTierConfigs {
  const tier = (model: string): ModelTierConfig => ({
    baseUrl,
    apiKey,
    model,
    timeoutMs: 10_000,
    maxRetries: 0,
  });
  return { fast: tier('sim-fast'), reasoning: tier('sim-reasoner'), standard: tier('sim-standard') };
}

async function bill(
  sim: RunningSimulator,
  query = '',
  key = 'sim-key',
): Promise<{ status: number; body: BillBody }> {
  const res = await fetch(`${sim.url}/v1/bill${query}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as BillBody };
}

const pricingOf = (id: string) => SIMULATOR_MODELS.find((m) => m.id === id)!.pricing;

describe('the simulator bill', () => {
  let sim: RunningSimulator;
  let client: ModelClient;

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0 });
    client = new ModelClient(tiers(sim.baseURL));
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    const reset = await fetch(`${sim.url}/v1/bill`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer k' },
    });
    expect(reset.status).toBe(200);
  });

  it("records each answered call under the caller's x-client-request-id, priced at the catalogue", async () => {
    const fast = await client.complete('fast', {
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      requestId: 'res-fast-1',
    });
    const reasoned = await client.complete('reasoning', {
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      reasoningEffort: 'low',
      requestId: 'res-reasoning-1',
    });
    await client.complete('standard', { messages: [{ role: 'user', content: 'No id sent.' }] });

    const { status, body } = await bill(sim);
    expect(status).toBe(200);
    expect(body.calls.map((c) => [c.clientRequestId, c.model])).toEqual([
      ['res-fast-1', 'sim-fast'],
      ['res-reasoning-1', 'sim-reasoner'],
      [null, 'sim-standard'],
    ]);
    const [first, second] = body.calls;
    expect(first!.usage).toEqual(fast.usage);
    expect(first!.requestId).toBe(fast.requestId);
    expect(second!.usage).toEqual(reasoned.usage);
    expect(second!.usage.reasoningTokens).toBeGreaterThan(0);
    expect(first!.clientConnected).toBe(true);
    // Input, cached input and output (reasoning included) at the model's price per 1M tokens, rounded up.
    const { usage } = second!;
    const price = pricingOf('sim-reasoner');
    expect(second!.costMicroUsd).toBe(
      Math.ceil(
        ((usage.inputTokens - usage.cachedInputTokens) * price.inputMicroUsdPerMTokens +
          usage.cachedInputTokens * price.cachedInputMicroUsdPerMTokens +
          usage.outputTokens * price.outputMicroUsdPerMTokens) /
          1_000_000,
      ),
    );
    expect(body.totals.calls).toBe(3);
    expect(body.totals.costMicroUsd).toBe(body.calls.reduce((sum, c) => sum + c.costMicroUsd, 0));
  });

  it('bills nothing for injected 429, 500 and 503 answers, refused requests and hung calls', async () => {
    for (const fault of ['429', '500', '503']) {
      const error = await client
        .complete('fast', { messages: [{ role: 'user', content: 'x' }], headers: { 'x-sim-fault': fault } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelCallError);
    }
    const hung = await client
      .complete('fast', { messages: [{ role: 'user', content: 'x [[sim:fault=hang]]' }], timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(ModelCallError);
    const refused = await fetch(`${sim.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify({ model: 'sim-nope', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(refused.status).toBe(404);
    expect((await bill(sim)).body.totals).toMatchObject({ calls: 0, costMicroUsd: 0 });
  });

  it('reads the calls billed since a moment and refuses a since that is not a date with a 400', async () => {
    await client.complete('fast', { messages: [{ role: 'user', content: 'before' }], requestId: 'before' });
    await new Promise((r) => setTimeout(r, 5));
    const since = new Date().toISOString();
    await client.complete('fast', { messages: [{ role: 'user', content: 'after' }], requestId: 'after' });
    const { body } = await bill(sim, `?since=${encodeURIComponent(since)}`);
    expect(body.since).toBe(since);
    expect(body.calls.map((c) => c.clientRequestId)).toEqual(['after']);

    const bad = await bill(sim, '?since=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { param: 'since', code: 'invalid_since' } });
  });

  it('counts a CJK prompt at a token or more per character, within its UTF-8 upper bound', async () => {
    const text = '请用三句话总结这份合同的主要风险和付款条件。'.repeat(20);
    await client.complete('fast', { messages: [{ role: 'user', content: text }], requestId: 'cjk' });
    const [call] = (await bill(sim)).body.calls;
    expect(call!.usage.inputTokens).toBeGreaterThan(Math.ceil(text.length / 4) + 4);
    expect(call!.usage.inputTokens).toBeGreaterThanOrEqual(text.length);
    expect(call!.usage.inputTokens).toBeLessThanOrEqual(Buffer.byteLength(text, 'utf8') + 16 + 3);
  });
});

describe('the simulator bill when the client goes away', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    // The reasoner's base latency alone is 1 s at scale 1: 0.3 s here.
    sim = await startSimulator({ timeScale: 0.3 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('still bills a call it finished generating, marked as answered to no one', async () => {
    const client = new ModelClient(tiers(sim.baseURL));
    const controller = new AbortController();
    const pending = client
      .complete('reasoning', {
        messages: [{ role: 'user', content: 'Think, then answer. [[sim:think_ms=200]]' }],
        requestId: 'abandoned',
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toBeInstanceOf(ModelCallError);
    expect((await bill(sim)).body.calls).toEqual([]);

    const { body } = await pollUntil(
      () => bill(sim),
      (b) => b.body.calls.length > 0,
      { timeoutMs: 5_000, what: 'the abandoned call on the bill' },
    );
    expect(body.calls).toEqual([
      expect.objectContaining({
        clientRequestId: 'abandoned',
        model: 'sim-reasoner',
        clientConnected: false,
      }),
    ]);
    expect(body.calls[0]!.costMicroUsd).toBeGreaterThan(0);
  });
});

describe('the simulator bill behind an API key', () => {
  it('is guarded like the model endpoints', async () => {
    const sim = await startSimulator({ apiKey: 'secret' });
    try {
      expect((await bill(sim, '', 'wrong')).status).toBe(401);
      expect((await bill(sim, '', 'secret')).status).toBe(200);
      const reset = await fetch(`${sim.url}/v1/bill`, { method: 'DELETE' });
      expect(reset.status).toBe(401);
    } finally {
      await sim.close();
    }
  });
});

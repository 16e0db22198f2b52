import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import {
  ModelCallError,
  ModelClient,
  type BackgroundState,
  type ModelTierConfig,
  type ModelTierConfigs,
} from '../src';

// A tier configured for the Responses API ends in the same ModelCallResult as a chat tier: summaries as the
// provider's reasoning, incomplete as a length stop with its usage, errors mapped alike; plus background primitives.

// The simulator bill's rows, as much of them as these tests read.
interface BilledCall {
  api: string;
  responseId: string | null;
  clientRequestId: string | null;
  serviceTier: string;
  background: boolean;
  status: string;
  usage: Record<string, number>;
}

function tiers(baseUrl: string, api: ModelTierConfig['api']): ModelTierConfigs {
  const tier = (model: string): ModelTierConfig => ({
    baseUrl,
    apiKey: 'sim-key',
    model,
    timeoutMs: 10_000,
    maxRetries: 0,
    api,
  });
  return { fast: tier('sim-fast'), reasoning: tier('sim-reasoner'), standard: tier('sim-standard') };
}

// @deliberate/testing is out of an infra lib's reach: a poll loop of its own.
async function settled(poll: () => Promise<BackgroundState>): Promise<BackgroundState> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const state = await poll();
    if (state.status !== 'queued' && state.status !== 'in_progress') return state;
    if (Date.now() > deadline) throw new Error(`still ${state.status} after 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function failure(call: Promise<unknown>): Promise<ModelCallError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelCallError);
  return error as ModelCallError;
}

describe('ModelClient on the Responses API against the model simulator', () => {
  let sim: RunningSimulator;
  let responses: ModelClient;
  let chat: ModelClient;

  const billed = async (): Promise<BilledCall[]> =>
    ((await (await fetch(`${sim.url}/v1/bill`)).json()) as { calls: BilledCall[] }).calls;

  beforeAll(async () => {
    sim = await startSimulator({ timeScale: 0 });
    responses = new ModelClient(tiers(sim.baseURL, 'responses'));
    chat = new ModelClient(tiers(sim.baseURL, undefined));
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await fetch(`${sim.url}/v1/bill`, { method: 'DELETE' });
  });

  it('maps a reasoning response onto the chat path’s result, with the summaries as the provider’s reasoning', async () => {
    const request = {
      messages: [
        { role: 'system' as const, content: 'You are careful.' },
        { role: 'user' as const, content: 'Derive the quadratic formula. [[sim:reasoning_tokens=1500]]' },
      ],
      reasoningEffort: 'high' as const,
      requestId: 'responses-1',
    };
    const viaResponses = await responses.complete('reasoning', request);
    const viaChat = await chat.complete('reasoning', request);
    expect(responses.apiOf('reasoning')).toBe('responses');
    expect(chat.apiOf('reasoning')).toBe('chat');

    expect(viaResponses).toMatchObject({
      tier: 'reasoning',
      model: 'sim-reasoner',
      finishReason: 'stop',
      content: viaChat.content,
      usage: viaChat.usage,
      serviceTier: 'default',
      encryptedReasoning: [],
    });
    expect(viaResponses.usage.reasoningTokens).toBe(1_500);
    expect(viaResponses.responseId).toMatch(/^resp_/);
    expect(viaResponses.requestId).toMatch(/^req_/);
    expect(viaChat.reasoningContent).toBeNull();
    // The summary is the reasoning block the chat answer carries inline.
    const inline = /^<reasoning>(.*)<\/reasoning>/.exec(viaChat.content)?.[1];
    expect(viaResponses.reasoningContent).toBe(inline);

    const [call] = await billed();
    expect(call).toMatchObject({
      api: 'responses',
      responseId: viaResponses.responseId,
      clientRequestId: 'responses-1',
    });
    expect(call!.usage).toEqual(viaResponses.usage);
  });

  it('maps incomplete for max_output_tokens to a length stop whose usage is billed', async () => {
    const result = await responses.complete('reasoning', {
      messages: [{ role: 'user', content: 'Prove the Riemann hypothesis.' }],
      maxCompletionTokens: 64,
      reasoningEffort: 'medium',
    });
    expect(result).toMatchObject({
      finishReason: 'length',
      content: '',
      usage: { outputTokens: 64, reasoningTokens: 64 },
    });
    expect(result.reasoningContent).not.toBeNull();
    const [call] = await billed();
    expect(call).toMatchObject({ status: 'incomplete', usage: result.usage });
  });

  it('returns encrypted reasoning when asked, and serves flex at the flex tier', async () => {
    const result = await responses.complete('reasoning', {
      messages: [{ role: 'user', content: 'Plan the migration.' }],
      reasoningEffort: 'low',
      includeEncryptedReasoning: true,
      serviceTier: 'flex',
    });
    expect(result.encryptedReasoning).toEqual([expect.stringMatching(/^sim_enc_/) as string]);
    expect(result.serviceTier).toBe('flex');
    expect((await billed())[0]?.serviceTier).toBe('flex');
  });

  it('passes a JSON schema format through as text.format', async () => {
    const result = await responses.complete('fast', {
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
    expect(result.reasoningContent).toBeNull();
  });

  it('maps errors as on the chat path: flex refusal, unknown model, bad request', async () => {
    const refused = await failure(
      responses.complete('reasoning', {
        messages: [{ role: 'user', content: 'busy [[sim:fault=flex_unavailable]]' }],
        serviceTier: 'flex',
      }),
    );
    expect(refused).toMatchObject({
      kind: 'rate_limited',
      retryable: true,
      status: 429,
      code: 'resource_unavailable',
      tier: 'reasoning',
    });
    expect(await billed()).toEqual([]);

    const unknown = new ModelClient({ fast: { ...tiers(sim.baseURL, 'responses').fast, model: 'gpt-nope' } });
    expect(
      await failure(unknown.complete('fast', { messages: [{ role: 'user', content: 'x' }] })),
    ).toMatchObject({ kind: 'not_found', code: 'model_not_found' });
    expect(
      await failure(
        responses.complete('fast', { messages: [{ role: 'user', content: 'x' }], maxCompletionTokens: 0 }),
      ),
    ).toMatchObject({ kind: 'bad_request', status: 400, code: 'invalid_value' });
    expect(
      await failure(
        responses.complete('fast', { messages: [{ role: 'user', content: '[[sim:fault=500]]' }] }),
      ),
    ).toMatchObject({ kind: 'server_error', status: 500 });
  });

  it('starts a background call, polls it to its result by id, and the provider bills it once', async () => {
    const started = await responses.startBackground('reasoning', {
      messages: [{ role: 'user', content: 'Plan a trip. [[sim:reasoning_tokens=300]]' }],
      reasoningEffort: 'low',
      requestId: 'background-1',
    });
    expect(started.status).toBe('queued');
    expect(started.responseId).toMatch(/^resp_/);

    // Any client holding the id can resume: here, a fresh one.
    const resumed = new ModelClient(tiers(sim.baseURL, 'responses'));
    const done = await settled(() => resumed.pollBackground('reasoning', started.responseId));
    if (done.status !== 'completed') throw new Error(`ended ${done.status}`);
    expect(done.result).toMatchObject({
      finishReason: 'stop',
      responseId: started.responseId,
      usage: { reasoningTokens: 300 },
    });
    expect(done.result.reasoningContent).not.toBeNull();
    await resumed.pollBackground('reasoning', started.responseId);
    const calls = await billed();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      background: true,
      clientRequestId: 'background-1',
      usage: done.result.usage,
    });
  });

  it('cancels a background call at the provider, and maps an unknown id to not_found', async () => {
    const started = await responses.startBackground('standard', {
      messages: [{ role: 'user', content: 'Never done.' }],
      headers: { 'x-sim-fault': 'hang' },
    });
    const running = await responses.pollBackground('standard', started.responseId);
    expect(running.status).toBe('in_progress');
    const cancelled: BackgroundState = await responses.cancelBackground('standard', started.responseId);
    expect(cancelled).toMatchObject({ status: 'cancelled', usage: { outputTokens: 0 } });
    expect((await billed()).map((c) => c.status)).toEqual(['cancelled']);

    expect(await failure(responses.pollBackground('standard', 'resp_unknown'))).toMatchObject({
      kind: 'not_found',
      status: 404,
      code: 'response_not_found',
    });
    expect(await failure(responses.cancelBackground('standard', 'resp_unknown'))).toMatchObject({
      kind: 'not_found',
    });
  });

  it('keeps background primitives to tiers configured for the Responses API', async () => {
    await expect(
      chat.startBackground('fast', { messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toThrow("tier 'fast' is not configured for the Responses API");
  });
});

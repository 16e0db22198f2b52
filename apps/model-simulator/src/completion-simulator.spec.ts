import { parseChatCompletionRequest, type ChatCompletionRequest } from './chat-completion-request.schema';
import {
  countTokens,
  promptTexts,
  simulateCompletion,
  RUNAWAY_REASONING_TOKENS,
} from './completion-simulator';
import { parseDirectives } from './prompt-directives';
import { SIMULATOR_MODELS, type SimulatedModel } from './simulator-models';

function model(id: string): SimulatedModel {
  const found = SIMULATOR_MODELS.find((m) => m.id === id);
  if (!found) throw new Error(`no model ${id}`);
  return found;
}

function request(body: Record<string, unknown>): ChatCompletionRequest {
  const parsed = parseChatCompletionRequest(body);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return parsed.request;
}

function simulate(body: Record<string, unknown>, runaway = false) {
  const req = request(body);
  const texts = promptTexts(req);
  return simulateCompletion({
    request: req,
    model: model(req.model),
    directives: parseDirectives(texts),
    texts,
    runaway,
  });
}

describe('simulateCompletion', () => {
  it('counts about four ASCII characters per token', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('abcd')).toBe(1);
    expect(countTokens('abcde')).toBe(2);
  });

  it('counts every non-ASCII code point as a token, as a byte-level BPE does for scripts it saw little of', () => {
    expect(countTokens('日本語')).toBe(3);
    expect(countTokens('価格は100ドルです')).toBe(1 + 7);
    expect(countTokens('é')).toBe(1);
    // One code point, two UTF-16 units, four UTF-8 bytes: one token.
    expect(countTokens('😀')).toBe(1);
  });

  it('never counts more tokens than UTF-8 bytes, and a CJK prompt costs more than four characters per token', () => {
    const cjk = '请用三句话总结这份合同的主要风险和付款条件。'.repeat(50);
    expect(countTokens(cjk)).toBeGreaterThan(Math.ceil(cjk.length / 4));
    expect(countTokens(cjk)).toBeLessThanOrEqual(Buffer.byteLength(cjk, 'utf8'));
    for (const text of ['a', 'ab 日本', 'ñandú', '😀😀x', 'Ω'.repeat(9)])
      expect(countTokens(text)).toBeLessThanOrEqual(Buffer.byteLength(text, 'utf8'));
  });

  it('gives the answer a directive names, whichever model answers', () => {
    const ask = (id: string) =>
      simulate({
        model: id,
        messages: [{ role: 'user', content: 'Capital of France? [[sim:answer=Paris]]' }],
      });
    expect(ask('sim-fast').content).toBe('Paris');
    expect(ask('sim-reasoner').content).toMatch(/<answer>Paris<\/answer>$/);
    // Without it, each model names itself: two models never agree.
    const plain = (id: string) =>
      simulate({ model: id, messages: [{ role: 'user', content: 'Capital?' }] }).content;
    expect(plain('sim-fast')).not.toBe(plain('sim-standard'));
  });

  it('answers the fast tier with a snippet of the last user message', () => {
    const result = simulate({
      model: 'sim-fast',
      messages: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: `  second\n question ${'z'.repeat(200)} [[sim:think_ms=5]]` },
      ],
    });
    expect(result.content).toBe(`Simulated answer from sim-fast: second question ${'z'.repeat(104)}`);
    expect(result.usage.completion_tokens_details.reasoning_tokens).toBe(0);
    expect(result.usage.completion_tokens).toBe(countTokens(result.content));
  });

  it('is deterministic for the same prompt, seed and effort', () => {
    const body = {
      model: 'sim-reasoner',
      seed: 3,
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
    };
    expect(simulate(body)).toEqual(simulate(body));
    const efforts = ['minimal', 'low', 'medium', 'high'].map(
      (effort) =>
        simulate({ ...body, reasoning_effort: effort }).usage.completion_tokens_details.reasoning_tokens,
    );
    expect(efforts).toEqual([...efforts].sort((a, b) => a - b));
  });

  it('spends the whole budget on reasoning and returns no content when thinking exhausts it', () => {
    const result = simulate({
      model: 'sim-reasoner',
      max_completion_tokens: 500,
      messages: [{ role: 'user', content: 'x [[sim:reasoning_tokens=900]]' }],
    });
    expect(result).toMatchObject({
      content: '',
      finishReason: 'length',
      usage: { completion_tokens: 500, completion_tokens_details: { reasoning_tokens: 500 } },
    });
  });

  it('caps runaway thinking at the model maximum when no budget is given', () => {
    const result = simulate({ model: 'sim-reasoner', messages: [{ role: 'user', content: 'x' }] }, true);
    expect(RUNAWAY_REASONING_TOKENS).toBeGreaterThan(model('sim-reasoner').maxOutputTokens);
    expect(result.finishReason).toBe('length');
    expect(result.usage.completion_tokens).toBe(model('sim-reasoner').maxOutputTokens);
  });

  it('derives latency from thinking and output speeds, and lets think_ms override thinking', () => {
    const reasoner = model('sim-reasoner');
    const natural = simulate({
      model: 'sim-reasoner',
      messages: [{ role: 'user', content: 'q [[sim:reasoning_tokens=1000]]' }],
    });
    const visible = natural.usage.completion_tokens - 1_000;
    expect(natural.latencyMs).toBeCloseTo(
      reasoner.baseLatencyMs +
        (1_000 / reasoner.thinkingTokensPerSecond) * 1_000 +
        (visible / reasoner.outputTokensPerSecond) * 1_000,
    );
    const overridden = simulate({
      model: 'sim-reasoner',
      messages: [{ role: 'user', content: 'q [[sim:reasoning_tokens=1000]] [[sim:think_ms=30000]]' }],
    });
    const overriddenVisible = overridden.usage.completion_tokens - 1_000;
    expect(overridden.latencyMs).toBeCloseTo(
      reasoner.baseLatencyMs + 30_000 + (overriddenVisible / reasoner.outputTokensPerSecond) * 1_000,
    );
  });

  it('reports a cached system prefix only for prompts of at least 1024 tokens', () => {
    const short = simulate({
      model: 'sim-fast',
      messages: [
        { role: 'system', content: 'a'.repeat(2_000) },
        { role: 'user', content: 'q' },
      ],
    });
    expect(short.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const long = simulate({
      model: 'sim-fast',
      messages: [
        { role: 'system', content: 'a'.repeat(6_000) },
        { role: 'user', content: 'q' },
      ],
    });
    expect(long.usage.prompt_tokens).toBe(1_504 + 5);
    expect(long.usage.prompt_tokens_details.cached_tokens).toBe(1_408);
  });

  it('returns JSON even for the reasoning tier when a JSON format is requested', () => {
    const result = simulate({
      model: 'sim-reasoner',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(JSON.parse(result.content)).toEqual({ answer: 'Simulated answer from sim-reasoner: hello' });
    expect(result.usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });
});

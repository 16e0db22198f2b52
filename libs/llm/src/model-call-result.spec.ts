import type OpenAI from 'openai';
import { reasoningContentOf, toModelCallResult, usageFromCompletion } from './model-call-result';

function completion(
  overrides: Partial<OpenAI.ChatCompletion> = {},
  message: Record<string, unknown> = {},
): OpenAI.ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 0,
    model: 'sim-reasoner-2026',
    choices: [
      {
        index: 0,
        finish_reason: 'stop',
        logprobs: null,
        message: { role: 'assistant', content: 'answer', refusal: null, ...message },
      },
    ],
    ...overrides,
  };
}

describe('usageFromCompletion', () => {
  it('maps OpenAI usage onto TokenUsage', () => {
    expect(
      usageFromCompletion({
        prompt_tokens: 1_200,
        completion_tokens: 900,
        total_tokens: 2_100,
        prompt_tokens_details: { cached_tokens: 1_024 },
        completion_tokens_details: { reasoning_tokens: 800 },
      }),
    ).toEqual({ inputTokens: 1_200, cachedInputTokens: 1_024, outputTokens: 900, reasoningTokens: 800 });
  });

  it('treats missing fields as zero', () => {
    expect(usageFromCompletion(undefined)).toEqual({
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    });
    expect(usageFromCompletion({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })).toEqual({
      inputTokens: 5,
      cachedInputTokens: 0,
      outputTokens: 7,
      reasoningTokens: 0,
    });
  });

  it('keeps cached within input and reasoning within output', () => {
    expect(
      usageFromCompletion({
        prompt_tokens: 10,
        completion_tokens: 20,
        total_tokens: 30,
        prompt_tokens_details: { cached_tokens: 50 },
        completion_tokens_details: { reasoning_tokens: 100 },
      }),
    ).toEqual({ inputTokens: 10, cachedInputTokens: 10, outputTokens: 120, reasoningTokens: 100 });
  });
});

describe('toModelCallResult', () => {
  it('normalises a completion', () => {
    expect(
      toModelCallResult(completion({ usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }), {
        tier: 'reasoning',
        latencyMs: 12.6,
        requestId: 'req_1',
      }),
    ).toEqual({
      tier: 'reasoning',
      model: 'sim-reasoner-2026',
      content: 'answer',
      finishReason: 'stop',
      usage: { inputTokens: 3, cachedInputTokens: 0, outputTokens: 4, reasoningTokens: 0 },
      latencyMs: 13,
      reasoningContent: null,
      requestId: 'req_1',
    });
  });

  it('turns null content into an empty string and reads reasoning_content', () => {
    const result = toModelCallResult(completion({}, { content: null, reasoning_content: 'thinking…' }), {
      tier: 'reasoning',
      latencyMs: 1,
      requestId: null,
    });
    expect(result?.content).toBe('');
    expect(result?.reasoningContent).toBe('thinking…');
  });

  it('returns null when there is no choice', () => {
    expect(
      toModelCallResult(completion({ choices: [] }), { tier: 'fast', latencyMs: 1, requestId: null }),
    ).toBeNull();
  });
});

describe('reasoningContentOf', () => {
  it('falls back to a `reasoning` field', () => {
    const message = {
      role: 'assistant',
      content: 'a',
      refusal: null,
      reasoning: 'why',
    } as OpenAI.ChatCompletionMessage;
    expect(reasoningContentOf(message)).toBe('why');
    expect(reasoningContentOf(undefined)).toBeNull();
  });
});

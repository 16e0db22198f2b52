import type OpenAI from 'openai';
import {
  finishReasonOfResponse,
  reasoningContentOf,
  toModelCallResult,
  toModelCallResultFromResponse,
  usageFromCompletion,
  usageFromResponse,
} from './model-call-result';

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
      responseId: null,
      serviceTier: null,
      encryptedReasoning: [],
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

function response(overrides: Partial<OpenAI.Responses.Response> = {}): OpenAI.Responses.Response {
  return {
    id: 'resp_1',
    object: 'response',
    created_at: 0,
    model: 'sim-reasoner',
    status: 'completed',
    output: [
      {
        id: 'rs_1',
        type: 'reasoning',
        summary: [
          { type: 'summary_text', text: 'First idea.' },
          { type: 'summary_text', text: 'Second idea.' },
        ],
        encrypted_content: 'sim_enc_1',
      },
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [
          { type: 'output_text', text: 'the ', annotations: [] },
          { type: 'output_text', text: 'answer', annotations: [] },
        ],
      },
    ],
    usage: {
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 2, cache_write_tokens: 0 },
      output_tokens: 50,
      output_tokens_details: { reasoning_tokens: 40 },
      total_tokens: 60,
    },
    service_tier: 'flex',
    incomplete_details: null,
    error: null,
    ...overrides,
  } as OpenAI.Responses.Response;
}

const context = { tier: 'reasoning' as const, latencyMs: 5, requestId: 'req_9' };

describe('toModelCallResultFromResponse', () => {
  it('maps a completed response: its text, usage, summaries as the trace and its encrypted reasoning', () => {
    expect(toModelCallResultFromResponse(response(), context)).toEqual({
      tier: 'reasoning',
      model: 'sim-reasoner',
      content: 'the answer',
      finishReason: 'stop',
      usage: { inputTokens: 10, cachedInputTokens: 2, outputTokens: 50, reasoningTokens: 40 },
      latencyMs: 5,
      reasoningContent: 'First idea.\n\nSecond idea.',
      requestId: 'req_9',
      responseId: 'resp_1',
      serviceTier: 'flex',
      encryptedReasoning: ['sim_enc_1'],
    });
  });

  it('maps incomplete for lack of output tokens to a length stop, usage kept, even with no text at all', () => {
    const result = toModelCallResultFromResponse(
      response({
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        output: [{ id: 'rs_1', type: 'reasoning', summary: [] }],
        usage: {
          input_tokens: 10,
          input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
          output_tokens: 64,
          output_tokens_details: { reasoning_tokens: 64 },
          total_tokens: 74,
        },
      }),
      context,
    );
    expect(result).toMatchObject({
      finishReason: 'length',
      content: '',
      reasoningContent: null,
      usage: { outputTokens: 64, reasoningTokens: 64 },
    });
  });

  it('maps the content filter to content_filter', () => {
    const filtered = response({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } });
    expect(finishReasonOfResponse(filtered)).toBe('content_filter');
  });

  it('is null for a response that has not ended with an answer', () => {
    for (const status of ['queued', 'in_progress', 'failed', 'cancelled'] as const)
      expect(toModelCallResultFromResponse(response({ status }), context)).toBeNull();
  });
});

describe('usageFromResponse', () => {
  it('keeps reasoning inside output, and cached inside input', () => {
    expect(
      usageFromResponse({
        input_tokens: 5,
        input_tokens_details: { cached_tokens: 9, cache_write_tokens: 0 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 7 },
        total_tokens: 8,
      }),
    ).toEqual({ inputTokens: 5, cachedInputTokens: 5, outputTokens: 7, reasoningTokens: 7 });
    expect(usageFromResponse(undefined)).toEqual({
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    });
  });
});

import type OpenAI from 'openai';
import type { ModelTier, TokenUsage } from '@deliberate/contracts';

export type FinishReason = OpenAI.ChatCompletion.Choice['finish_reason'];

export interface ModelCallResult {
  tier: ModelTier;
  /** The model that answered, as the provider reports it (may carry a version suffix). */
  model: string;
  /** The visible answer; '' when the provider sent null (e.g. reasoning used up the budget). */
  content: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /** Wall time of the whole call, SDK retries included. */
  latencyMs: number;
  /** Chain of thought from servers that return it (vLLM, DeepSeek: `reasoning_content`); null otherwise. */
  reasoningContent: string | null;
  /** The provider's `x-request-id`, for support tickets and log correlation. */
  requestId: string | null;
  /** The Responses API's `resp_…` id; null on chat completions. */
  responseId: string | null;
  /** The service tier the provider says it served the call at (`default`, `flex`, …), when it says. */
  serviceTier: string | null;
  /** The Responses API's encrypted reasoning items (asked for with `include`), to send back on a follow-up turn. */
  encryptedReasoning: string[];
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

// Keeps OpenAI's nesting: cached ⊂ input and reasoning ⊂ output, as TokenUsage promises.
export function usageFromCompletion(usage: OpenAI.CompletionUsage | null | undefined): TokenUsage {
  const input = count(usage?.prompt_tokens);
  const completion = count(usage?.completion_tokens);
  const cached = count(usage?.prompt_tokens_details?.cached_tokens);
  const reasoning = count(usage?.completion_tokens_details?.reasoning_tokens);
  return {
    inputTokens: input,
    cachedInputTokens: Math.min(cached, input),
    // Some OpenAI-compatible servers count reasoning beside completion tokens rather than inside them.
    outputTokens: reasoning > completion ? completion + reasoning : completion,
    reasoningTokens: reasoning,
  };
}

// Not in OpenAI's schema: vLLM and DeepSeek send `reasoning_content`, some gateways `reasoning`.
export function reasoningContentOf(message: OpenAI.ChatCompletionMessage | undefined): string | null {
  const fields = message as Readonly<Record<string, unknown>> | undefined;
  const value = fields?.['reasoning_content'] ?? fields?.['reasoning'];
  return typeof value === 'string' ? value : null;
}

export function toModelCallResult(
  completion: OpenAI.ChatCompletion,
  context: { tier: ModelTier; latencyMs: number; requestId: string | null },
): ModelCallResult | null {
  const choice = completion.choices[0];
  if (!choice) return null;
  return {
    tier: context.tier,
    model: completion.model,
    content: choice.message.content ?? '',
    finishReason: choice.finish_reason,
    usage: usageFromCompletion(completion.usage),
    latencyMs: Math.round(context.latencyMs),
    reasoningContent: reasoningContentOf(choice.message),
    requestId: context.requestId,
    responseId: null,
    serviceTier: completion.service_tier ?? null,
    encryptedReasoning: [],
  };
}

// The Responses API counts like chat completions, under other names: cached ⊂ input, reasoning ⊂ output.
export function usageFromResponse(usage: OpenAI.Responses.ResponseUsage | null | undefined): TokenUsage {
  const input = count(usage?.input_tokens);
  const output = count(usage?.output_tokens);
  const cached = count(usage?.input_tokens_details?.cached_tokens);
  const reasoning = count(usage?.output_tokens_details?.reasoning_tokens);
  return {
    inputTokens: input,
    cachedInputTokens: Math.min(cached, input),
    outputTokens: Math.max(output, reasoning),
    reasoningTokens: reasoning,
  };
}

function reasoningItems(response: OpenAI.Responses.Response): OpenAI.Responses.ResponseReasoningItem[] {
  return response.output.filter((item) => item.type === 'reasoning');
}

/** The reasoning summaries of a response, one paragraph each; null when the provider sent none. */
export function reasoningSummaryOf(response: OpenAI.Responses.Response): string | null {
  const texts = reasoningItems(response)
    .flatMap((item) => item.summary.map((part) => part.text))
    .filter((text) => text.trim() !== '');
  return texts.length === 0 ? null : texts.join('\n\n');
}

/** The visible answer: every output_text of the response's messages, in order (what the SDK calls output_text). */
export function outputTextOf(response: OpenAI.Responses.Response): string {
  return response.output
    .flatMap((item) => (item.type === 'message' ? item.content : []))
    .flatMap((part) => (part.type === 'output_text' ? [part.text] : []))
    .join('');
}

/**
 * How a response that ended maps onto chat's finish reasons: completed is `stop`, incomplete for lack of output
 * tokens is `length` (so callers see the limit hit they already handle), for the content filter `content_filter`.
 * Null for a response that has not ended with an answer (queued, in progress, failed, cancelled).
 */
export function finishReasonOfResponse(response: OpenAI.Responses.Response): FinishReason | null {
  switch (response.status) {
    case 'completed':
      return 'stop';
    case 'incomplete':
      return response.incomplete_details?.reason === 'content_filter' ? 'content_filter' : 'length';
    case 'queued':
    case 'in_progress':
    case 'failed':
    case 'cancelled':
    case undefined:
      return null;
  }
}

export function toModelCallResultFromResponse(
  response: OpenAI.Responses.Response,
  context: { tier: ModelTier; latencyMs: number; requestId: string | null },
): ModelCallResult | null {
  const finishReason = finishReasonOfResponse(response);
  if (finishReason === null) return null;
  return {
    tier: context.tier,
    model: response.model,
    content: outputTextOf(response),
    finishReason,
    usage: usageFromResponse(response.usage),
    latencyMs: Math.round(context.latencyMs),
    // The summaries are what the Responses API shows of the chain of thought: the trace's provider reasoning.
    reasoningContent: reasoningSummaryOf(response),
    requestId: context.requestId,
    responseId: response.id,
    serviceTier: response.service_tier ?? null,
    encryptedReasoning: reasoningItems(response).flatMap((item) =>
      typeof item.encrypted_content === 'string' ? [item.encrypted_content] : [],
    ),
  };
}

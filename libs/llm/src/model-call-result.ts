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
  };
}

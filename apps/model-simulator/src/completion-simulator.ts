import { createHash } from 'node:crypto';
import type { ChatCompletionRequest, ReasoningEffort } from './chat-completion-request.schema';
import { messageText, stripDirectives, type PromptDirectives } from './prompt-directives';
import { structuredAnswer } from './structured-answer';
import type { SimulatedModel } from './simulator-models';

// A deterministic approximation of a byte-level BPE: ASCII text packs about four characters into a token, while
// every other code point (CJK, accents, emoji) is at least one token of its own, and never more than its UTF-8
// bytes. So a CJK prompt costs here what it costs at a real provider, far above four characters per token.
export function countTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const char of text) {
    if (char.charCodeAt(0) < 0x80) ascii++;
    else other++;
  }
  return Math.ceil(ascii / 4) + other;
}

// Chat formatting adds a few tokens per message (role markers, separators).
export const MESSAGE_OVERHEAD_TOKENS = 4;
// OpenAI caches prompt prefixes from 1024 tokens on, in 128-token steps.
const CACHE_MIN_PROMPT_TOKENS = 1_024;
const CACHE_BLOCK_TOKENS = 128;
const ANSWER_SNIPPET_CHARS = 120;

export const REASONING_TOKEN_RANGES: Record<ReasoningEffort, readonly [number, number]> = {
  minimal: [50, 200],
  low: [200, 1_000],
  medium: [1_000, 4_000],
  high: [4_000, 16_000],
};
export const DEFAULT_REASONING_EFFORT: ReasoningEffort = 'medium';
// Runaway thinking: far more than any completion budget, so it always ends in finish_reason "length".
export const RUNAWAY_REASONING_TOKENS = 10_000_000;

const THOUGHTS = [
  'First, restate what is being asked about {topic}.',
  'The key constraint seems to be the scope of {topic}.',
  'Consider the simplest case before the general one.',
  'Check whether any assumption about {topic} is hidden.',
  'Break the problem into smaller independent parts.',
  'Compare two candidate approaches and keep the cheaper one.',
  'Verify the intermediate result against the original question.',
  'Look for an edge case that would break the argument.',
  'Estimate the order of magnitude to sanity-check the answer.',
  'Summarise the chain of steps into a short conclusion.',
  'Recall the definitions that {topic} depends on.',
  'Work backwards from the expected form of the answer.',
] as const;

export interface CompletionUsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

export interface SimulatedCompletion {
  content: string;
  // What the model thought, in a few sentences; null for models that do not reason. The Responses API's summary.
  thoughts: string | null;
  finishReason: 'stop' | 'length';
  usage: CompletionUsageBody;
  // Real-time latency before time scaling.
  latencyMs: number;
}

export interface SimulationInput {
  request: ChatCompletionRequest;
  model: SimulatedModel;
  directives: PromptDirectives;
  texts: readonly string[];
  runaway: boolean;
}

export function promptTexts(request: ChatCompletionRequest): string[] {
  return request.messages.map(messageText);
}

export function lastUserText(request: ChatCompletionRequest, texts: readonly string[]): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    if (request.messages[i]?.role === 'user') return stripDirectives(texts[i] ?? '');
  }
  return stripDirectives(texts[texts.length - 1] ?? '');
}

// The same model, messages, seed and effort always give the same digest, hence the same answer and usage.
export function promptDigest(
  request: ChatCompletionRequest,
  texts: readonly string[],
  effort: ReasoningEffort,
): Buffer {
  const hash = createHash('sha256');
  hash.update(`${request.model}\u0000${request.seed ?? ''}\u0000${effort}`);
  request.messages.forEach((message, i) => hash.update(`\u0001${message.role}\u0002${texts[i] ?? ''}`));
  return hash.digest();
}

function pick(digest: Buffer, offset: number): number {
  return digest.readUInt32BE(offset % (digest.length - 3));
}

function promptUsage(
  request: ChatCompletionRequest,
  texts: readonly string[],
): { prompt: number; cached: number } {
  let prompt = 0;
  let stablePrefix = 0;
  let inPrefix = true;
  request.messages.forEach((message, i) => {
    const tokens = countTokens(texts[i] ?? '') + MESSAGE_OVERHEAD_TOKENS;
    prompt += tokens;
    // Instructions at the head of the prompt repeat across calls, so that is the part a provider's cache hits.
    if (inPrefix && (message.role === 'system' || message.role === 'developer')) stablePrefix += tokens;
    else inPrefix = false;
  });
  const cached =
    prompt >= CACHE_MIN_PROMPT_TOKENS
      ? Math.floor(stablePrefix / CACHE_BLOCK_TOKENS) * CACHE_BLOCK_TOKENS
      : 0;
  return { prompt, cached };
}

function reasoningText(digest: Buffer, topic: string): string {
  const count = 3 + (pick(digest, 8) % 3);
  const sentences: string[] = [];
  for (let i = 0; i < count; i++) {
    const thought = THOUGHTS[pick(digest, 12 + i * 3) % THOUGHTS.length] ?? THOUGHTS[0];
    sentences.push(thought.replace('{topic}', topic));
  }
  return sentences.join(' ');
}

function snippet(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, ANSWER_SNIPPET_CHARS);
}

export function simulateCompletion(input: SimulationInput): SimulatedCompletion {
  const { request, model, directives, texts } = input;
  const effort = request.reasoning_effort ?? DEFAULT_REASONING_EFFORT;
  const digest = promptDigest(request, texts, effort);
  const userText = lastUserText(request, texts);
  const answer = directives.answer ?? `Simulated answer from ${model.id}: ${snippet(userText)}`;

  let reasoning = 0;
  if (model.reasoning) {
    const [min, max] = REASONING_TOKEN_RANGES[effort];
    reasoning = input.runaway
      ? RUNAWAY_REASONING_TOKENS
      : (directives.reasoningTokens ?? min + (pick(digest, 0) % (max - min + 1)));
  }

  const topic = `"${snippet(userText).split(' ').slice(0, 6).join(' ')}"`;
  const thoughts = model.reasoning ? reasoningText(digest, topic) : null;
  const format = request.response_format;
  let content: string;
  if (format && format.type !== 'text') {
    content = structuredAnswer({
      kind: format.type,
      schema: format.type === 'json_schema' ? format.json_schema.schema : undefined,
      lastUserText: userText,
      allText: texts.join('\n'),
      directives,
      answer,
    });
  } else if (thoughts !== null) {
    content = `<reasoning>${thoughts}</reasoning><answer>${answer}</answer>`;
  } else {
    content = answer;
  }

  const requested = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const limit = Math.min(requested ?? model.maxOutputTokens, model.maxOutputTokens);
  let visible = countTokens(content);
  let finishReason: 'stop' | 'length' = 'stop';
  if (reasoning + visible > limit) {
    // The model thinks first: reasoning eats the budget, and what is left (if anything) is the visible answer.
    finishReason = 'length';
    reasoning = Math.min(reasoning, limit);
    visible = limit - reasoning;
    content = visible === 0 ? '' : content.slice(0, visible * 4);
  }

  const { prompt, cached } = promptUsage(request, texts);
  const completion = reasoning + visible;
  const thinkingMs = directives.thinkMs ?? (reasoning / model.thinkingTokensPerSecond) * 1_000;
  const latencyMs = model.baseLatencyMs + thinkingMs + (visible / model.outputTokensPerSecond) * 1_000;
  return {
    content,
    thoughts,
    finishReason,
    latencyMs,
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: reasoning,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
  };
}

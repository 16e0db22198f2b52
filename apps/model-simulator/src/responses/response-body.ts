import { createHash } from 'node:crypto';
import type { BilledServiceTier } from '../bill/simulator-bill';
import type { BilledUsage } from '../bill/call-cost';
import type { SimulatedCompletion } from '../completion-simulator';
import type { ResponseRequest } from './response-request.schema';

// The Responses API object (`object: "response"`) for one simulated response at one moment of its life.

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'incomplete' | 'cancelled';

export interface ResponseUsageBody {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ReasoningItemBody {
  id: string;
  type: 'reasoning';
  summary: { type: 'summary_text'; text: string }[];
  encrypted_content?: string;
}

export interface MessageItemBody {
  id: string;
  type: 'message';
  role: 'assistant';
  status: 'completed' | 'incomplete';
  content: { type: 'output_text'; text: string; annotations: []; logprobs: [] }[];
}

export interface ResponseBody {
  id: string;
  object: 'response';
  created_at: number;
  completed_at: number | null;
  status: ResponseStatus;
  background: boolean;
  error: null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  model: string;
  output: (ReasoningItemBody | MessageItemBody)[];
  parallel_tool_calls: boolean;
  previous_response_id: null;
  reasoning: { effort: string | null; summary: string | null };
  service_tier: BilledServiceTier;
  store: boolean;
  temperature: number | null;
  text: { format: { type: string } };
  tool_choice: 'auto';
  tools: [];
  top_p: number | null;
  truncation: 'auto' | 'disabled';
  usage: ResponseUsageBody | null;
  user: string | null;
}

/** Everything fixed when the response is created: what it will be once it has run to its end. */
export interface ResponsePlan {
  id: string;
  createdAtMs: number;
  modelId: string;
  reasoningModel: boolean;
  // Without its input: a stored response keeps what it echoes, not the prompt (bodies may be megabytes).
  request: Omit<ResponseRequest, 'input'>;
  serviceTier: BilledServiceTier;
  background: boolean;
  completion: SimulatedCompletion;
}

export function usageBody(usage: BilledUsage): ResponseUsageBody {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens, cache_write_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

export function plannedUsage(completion: SimulatedCompletion): BilledUsage {
  const { usage } = completion;
  return {
    inputTokens: usage.prompt_tokens,
    cachedInputTokens: usage.prompt_tokens_details.cached_tokens,
    outputTokens: usage.completion_tokens,
    reasoningTokens: usage.completion_tokens_details.reasoning_tokens,
  };
}

// What a response cancelled part-way had used: all of its input, and its output in proportion to the time it ran,
// reasoning first (a model thinks before it writes).
export function usedUsage(planned: BilledUsage, ranFraction: number): BilledUsage {
  const fraction = Math.min(1, Math.max(0, ranFraction));
  const output = Math.floor(planned.outputTokens * fraction);
  return {
    inputTokens: planned.inputTokens,
    cachedInputTokens: planned.cachedInputTokens,
    outputTokens: output,
    reasoningTokens: Math.min(planned.reasoningTokens, output),
  };
}

// Opaque and deterministic: the same prompt gives the same reasoning, hence the same encrypted item.
export function encryptedReasoning(modelId: string, thoughts: string, reasoningTokens: number): string {
  const digest = createHash('sha256').update(`${modelId}\u0000${reasoningTokens}\u0000${thoughts}`).digest();
  return `sim_enc_${digest.toString('base64url')}`;
}

function itemId(prefix: string, responseId: string): string {
  return `${prefix}_${responseId.slice('resp_'.length)}`;
}

function outputItems(plan: ResponsePlan, status: 'completed' | 'incomplete'): ResponseBody['output'] {
  const { completion, request } = plan;
  const output: ResponseBody['output'] = [];
  if (plan.reasoningModel && completion.thoughts !== null) {
    const reasoning: ReasoningItemBody = {
      id: itemId('rs', plan.id),
      type: 'reasoning',
      // Summaries come only when asked for, as at OpenAI.
      summary: request.reasoning?.summary ? [{ type: 'summary_text', text: completion.thoughts }] : [],
    };
    if (request.include?.includes('reasoning.encrypted_content')) {
      reasoning.encrypted_content = encryptedReasoning(
        plan.modelId,
        completion.thoughts,
        completion.usage.completion_tokens_details.reasoning_tokens,
      );
    }
    output.push(reasoning);
  }
  // Reasoning may have used the whole budget: then there is no message at all.
  if (completion.content !== '') {
    output.push({
      id: itemId('msg', plan.id),
      type: 'message',
      role: 'assistant',
      status,
      content: [{ type: 'output_text', text: completion.content, annotations: [], logprobs: [] }],
    });
  }
  return output;
}

/** The response as a client reads it in `status`; usage is what is billed (null until the response ends). */
export function responseBody(
  plan: ResponsePlan,
  status: ResponseStatus,
  usage: BilledUsage | null,
  completedAtMs: number | null = null,
): ResponseBody {
  const { request } = plan;
  const ended = status === 'completed' || status === 'incomplete';
  return {
    id: plan.id,
    object: 'response',
    created_at: Math.floor(plan.createdAtMs / 1_000),
    completed_at: status === 'completed' && completedAtMs !== null ? Math.floor(completedAtMs / 1_000) : null,
    status,
    background: plan.background,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    model: plan.modelId,
    output: ended ? outputItems(plan, status) : [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: {
      effort: plan.reasoningModel ? (request.reasoning?.effort ?? 'medium') : null,
      summary: request.reasoning?.summary ?? null,
    },
    service_tier: plan.serviceTier,
    store: request.store ?? true,
    temperature: request.temperature ?? 1,
    text: { format: { type: request.text?.format?.type ?? 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: request.top_p ?? 1,
    truncation: request.truncation ?? 'disabled',
    usage: usage && usageBody(usage),
    user: request.user ?? null,
  };
}

/** How a finished simulation ends: incomplete when the output budget ran out. */
export function endStatus(completion: SimulatedCompletion): 'completed' | 'incomplete' {
  return completion.finishReason === 'length' ? 'incomplete' : 'completed';
}

import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CallSimulator } from './call-simulator';
import { parseChatCompletionRequest } from './chat-completion-request.schema';
import { promptTexts, simulateCompletion, type CompletionUsageBody } from './completion-simulator';
import { OpenAiHttpError } from './openai-error';
import { parseDirectives } from './prompt-directives';
import type { SimulatedModel } from './simulator-models';

export interface ChatCompletionBody {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string; refusal: null; annotations: [] };
    logprobs: null;
    finish_reason: 'stop' | 'length';
  }>;
  usage: CompletionUsageBody;
  service_tier: 'default';
  system_fingerprint: string;
}

export type CompletionAnswer = {
  kind: 'answer';
  body: ChatCompletionBody;
  delayMs: number;
  model: SimulatedModel;
};
export type CompletionOutcome = CompletionAnswer | { kind: 'hang' };

@Injectable()
export class ChatCompletionService {
  constructor(private readonly calls: CallSimulator) {}

  /** Validates, applies faults and simulates one call; throws OpenAiHttpError for every error response. */
  complete(body: unknown, faultHeader: string | undefined): CompletionOutcome {
    const parsed = parseChatCompletionRequest(body);
    if (!parsed.ok)
      throw OpenAiHttpError.invalidRequest(parsed.problem.message, parsed.problem.param, parsed.problem.code);
    const request = parsed.request;
    if (request.stream === true) {
      throw OpenAiHttpError.invalidRequest(
        'streaming is not supported by the simulator',
        'stream',
        'unsupported_value',
      );
    }
    const model = this.calls.model(request.model);
    const texts = promptTexts(request);
    const directives = parseDirectives(texts);
    // Chat completions are always served at the default tier, so a flex_unavailable fault never refuses them.
    const fault = this.calls.fault(faultHeader ?? directives.fault, body, model, 'default');
    if (fault === 'hang') return { kind: 'hang' };

    const result = simulateCompletion({ request, model, directives, texts, runaway: fault === 'runaway' });
    return {
      kind: 'answer',
      model,
      delayMs: this.calls.scaled(result.latencyMs),
      body: {
        id: `chatcmpl-sim-${randomUUID()}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1_000),
        model: model.id,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: result.content, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: result.finishReason,
          },
        ],
        usage: result.usage,
        service_tier: 'default',
        system_fingerprint: 'fp_simulator',
      },
    };
  }

  /** Bills a call whose generation finished, at the model's price, whether or not its client is still there. */
  bill(
    answer: CompletionAnswer,
    call: { requestId: string; clientRequestId: string | null; clientConnected: boolean },
  ): void {
    const { usage } = answer.body;
    this.calls.bill({
      ...call,
      model: answer.model,
      usage: {
        inputTokens: usage.prompt_tokens,
        cachedInputTokens: usage.prompt_tokens_details.cached_tokens,
        outputTokens: usage.completion_tokens,
        reasoningTokens: usage.completion_tokens_details.reasoning_tokens,
      },
      api: 'chat.completions',
      responseId: null,
      serviceTier: 'default',
      background: false,
      status: answer.body.choices[0]?.finish_reason === 'length' ? 'incomplete' : 'completed',
    });
  }
}

import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { SimulatorOptions } from './config';
import { parseChatCompletionRequest } from './chat-completion-request.schema';
import { promptTexts, simulateCompletion, type CompletionUsageBody } from './completion-simulator';
import { callCostMicroUsd } from './bill/call-cost';
import { SimulatorBill } from './bill/simulator-bill';
import { FaultInjector } from './fault-injector';
import { OpenAiHttpError, openAiErrorBody } from './openai-error';
import { parseDirectives } from './prompt-directives';
import type { SimulatedModel } from './simulator-models';
import { SIMULATOR_OPTIONS } from './simulator.tokens';

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
  private readonly models: ReadonlyMap<string, SimulatedModel>;
  private readonly faults: FaultInjector;

  constructor(
    @Inject(SIMULATOR_OPTIONS) private readonly options: SimulatorOptions,
    private readonly billing: SimulatorBill,
  ) {
    this.models = new Map(options.models.map((m) => [m.id, m]));
    this.faults = new FaultInjector({
      rate429: options.faultRate429,
      rate500: options.faultRate500,
      randomSeed: options.randomSeed,
    });
  }

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
    const model = this.models.get(request.model);
    if (!model) {
      throw new OpenAiHttpError(
        404,
        openAiErrorBody(
          `The model \`${request.model}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          null,
          'model_not_found',
        ),
      );
    }

    const texts = promptTexts(request);
    const directives = parseDirectives(texts);
    const fault = this.faults.decide(faultHeader ?? directives.fault, body);
    if (fault && 'error' in fault)
      throw OpenAiHttpError.invalidRequest(fault.error, null, 'invalid_simulator_fault');
    switch (fault?.kind) {
      case '429':
        throw new OpenAiHttpError(
          429,
          openAiErrorBody(
            `Rate limit reached for ${model.id} (simulated). Please try again in ${fault.retryAfterMs}ms.`,
            'requests',
            null,
            'rate_limit_exceeded',
          ),
          // retry-after-ms is what the openai SDKs read first; retry-after is the standard, whole seconds.
          {
            'retry-after': String(Math.ceil(fault.retryAfterMs / 1_000)),
            'retry-after-ms': String(fault.retryAfterMs),
          },
        );
      case '500':
        throw new OpenAiHttpError(
          500,
          openAiErrorBody(
            'The server had an error while processing your request (simulated).',
            'server_error',
          ),
        );
      case '503':
        throw new OpenAiHttpError(
          503,
          openAiErrorBody(
            'The engine is currently overloaded, please try again later (simulated).',
            'server_error',
            null,
            'overloaded',
          ),
        );
      case 'hang':
        return { kind: 'hang' };
      case 'runaway':
      case undefined:
        break;
    }

    const result = simulateCompletion({
      request,
      model,
      directives,
      texts,
      runaway: fault?.kind === 'runaway',
    });
    return {
      kind: 'answer',
      model,
      delayMs: result.latencyMs * this.options.timeScale,
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
    const billed = {
      inputTokens: usage.prompt_tokens,
      cachedInputTokens: usage.prompt_tokens_details.cached_tokens,
      outputTokens: usage.completion_tokens,
      reasoningTokens: usage.completion_tokens_details.reasoning_tokens,
    };
    this.billing.record({
      ...call,
      model: answer.model.id,
      usage: billed,
      costMicroUsd: callCostMicroUsd(billed, answer.model.pricing),
      billedAt: new Date().toISOString(),
    });
  }
}

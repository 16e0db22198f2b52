import OpenAI from 'openai';
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ModelTier } from '@deliberate/contracts';
import type { ModelTierConfig, ModelTierConfigs } from './llm-config';
import { ModelCallError, toModelCallError } from './model-call-error';
import { ModelCallMetrics } from './model-call-metrics';
import type { ServiceMetrics } from '@deliberate/metrics';
import { toModelCallResult, type ModelCallResult } from './model-call-result';
import { realmSafeFetch } from './realm-safe-fetch';

export const LLM_TRACER_NAME = 'deliberate.llm';

export interface LlmMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high';

export type ResponseFormat =
  OpenAI.ResponseFormatText | OpenAI.ResponseFormatJSONObject | OpenAI.ResponseFormatJSONSchema;

export interface CompleteRequest {
  messages: readonly LlmMessage[];
  /** Reasoning plus visible tokens; on reasoning models a low value can leave the answer empty. */
  maxCompletionTokens?: number | undefined;
  /** Sent only when set: non-reasoning models on some providers reject the parameter. */
  reasoningEffort?: ReasoningEffort | undefined;
  responseFormat?: ResponseFormat | undefined;
  seed?: number | undefined;
  temperature?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Extra HTTP headers for this call (e.g. `x-sim-fault` against the simulator). */
  headers?: Readonly<Record<string, string>> | undefined;
  /**
   * The caller's id for this call, sent as `x-client-request-id` (the provider keeps it with its record of the call),
   * so a provider's bill can be matched with the ledger's booking: callers pass the call's reservation id.
   */
  requestId?: string | undefined;
  /** Overrides the tier's per-attempt timeout for this call. */
  timeoutMs?: number | undefined;
  /** Overrides the tier's retry count for this call. */
  maxRetries?: number | undefined;
}

interface TierClient {
  config: ModelTierConfig;
  sdk: OpenAI;
  serverAddress: string | undefined;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

// The one way services reach models: one official openai SDK client per tier, whose own retry loop (honouring
// retry-after) does the retrying; this class normalises results and errors and traces each call.
export class ModelClient {
  private readonly clients = new Map<ModelTier, TierClient>();
  private readonly metrics: ModelCallMetrics | undefined;

  constructor(tiers: Partial<ModelTierConfigs>, metrics?: ServiceMetrics) {
    this.metrics = metrics && new ModelCallMetrics(metrics.meter(LLM_TRACER_NAME));
    for (const [tier, config] of Object.entries(tiers) as Array<[ModelTier, ModelTierConfig | undefined]>) {
      if (!config) continue;
      this.clients.set(tier, {
        config,
        serverAddress: hostOf(config.baseUrl),
        sdk: new OpenAI({
          baseURL: config.baseUrl,
          apiKey: config.apiKey,
          timeout: config.timeoutMs,
          maxRetries: config.maxRetries,
          fetch: realmSafeFetch,
        }),
      });
    }
  }

  /** Tiers this client was configured with. */
  get tiers(): ModelTier[] {
    return [...this.clients.keys()];
  }

  modelOf(tier: ModelTier): string {
    return this.client(tier).config.model;
  }

  /** One chat completion on the tier's model. Throws ModelCallError for every failure. */
  async complete(tier: ModelTier, request: CompleteRequest): Promise<ModelCallResult> {
    const { config, sdk, serverAddress } = this.client(tier);
    const attributes: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': config.model,
      'deliberate.model_tier': tier,
    };
    if (serverAddress) attributes['server.address'] = serverAddress;
    // The metrics' labels: the span's bounded attributes only (no token limits, seeds or request ids).
    const metricAttributes: Attributes = { ...attributes };
    if (request.maxCompletionTokens !== undefined)
      attributes['gen_ai.request.max_tokens'] = request.maxCompletionTokens;
    if (request.seed !== undefined) attributes['gen_ai.request.seed'] = request.seed;
    if (request.reasoningEffort !== undefined)
      attributes['deliberate.reasoning_effort'] = request.reasoningEffort;
    if (request.requestId !== undefined) attributes['deliberate.client_request_id'] = request.requestId;

    const tracer = trace.getTracer(LLM_TRACER_NAME);
    return tracer.startActiveSpan(
      `chat ${config.model}`,
      { kind: SpanKind.CLIENT, attributes },
      async (span) => {
        const started = performance.now();
        try {
          const { data, request_id } = await sdk.chat.completions
            .create(
              {
                model: config.model,
                messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
                ...(request.maxCompletionTokens !== undefined && {
                  max_completion_tokens: request.maxCompletionTokens,
                }),
                ...(request.reasoningEffort !== undefined && { reasoning_effort: request.reasoningEffort }),
                ...(request.responseFormat !== undefined && { response_format: request.responseFormat }),
                ...(request.seed !== undefined && { seed: request.seed }),
                ...(request.temperature !== undefined && { temperature: request.temperature }),
              },
              {
                signal: request.signal,
                headers: withClientRequestId(request.headers, request.requestId),
                ...(request.timeoutMs !== undefined && { timeout: request.timeoutMs }),
                ...(request.maxRetries !== undefined && { maxRetries: request.maxRetries }),
              },
            )
            .withResponse();
          const result = toModelCallResult(data, {
            tier,
            latencyMs: performance.now() - started,
            requestId: request_id,
          });
          if (!result) {
            throw new ModelCallError('The model returned no choices.', {
              kind: 'server_error',
              retryable: false,
              tier,
              model: config.model,
              status: null,
              code: null,
              requestId: request_id,
              retryAfterMs: null,
              cause: undefined,
            });
          }
          recordResult(span, result);
          this.metrics?.succeeded(metricAttributes, result, (performance.now() - started) / 1000);
          return result;
        } catch (error) {
          const mapped = toModelCallError(error, { tier, model: config.model, signal: request.signal });
          recordError(span, mapped);
          this.metrics?.failed(metricAttributes, mapped, (performance.now() - started) / 1000);
          throw mapped;
        } finally {
          span.end();
        }
      },
    );
  }

  private client(tier: ModelTier): TierClient {
    const client = this.clients.get(tier);
    if (!client) throw new Error(`ModelClient: tier '${tier}' is not configured`);
    return client;
  }
}

export const CLIENT_REQUEST_ID_HEADER = 'x-client-request-id';

function withClientRequestId(
  headers: Readonly<Record<string, string>> | undefined,
  requestId: string | undefined,
): Record<string, string> | undefined {
  if (requestId === undefined) return headers && { ...headers };
  return { ...headers, [CLIENT_REQUEST_ID_HEADER]: requestId };
}

function recordResult(span: Span, result: ModelCallResult): void {
  span.setAttributes({
    'gen_ai.response.model': result.model,
    'gen_ai.response.finish_reasons': [result.finishReason],
    'gen_ai.usage.input_tokens': result.usage.inputTokens,
    'gen_ai.usage.output_tokens': result.usage.outputTokens,
    'gen_ai.usage.reasoning.output_tokens': result.usage.reasoningTokens,
    'gen_ai.usage.cache_read.input_tokens': result.usage.cachedInputTokens,
  });
  if (result.requestId) span.setAttribute('gen_ai.response.id', result.requestId);
}

function recordError(span: Span, error: ModelCallError): void {
  span.setAttribute('error.type', error.kind);
  if (error.status !== null) span.setAttribute('http.response.status_code', error.status);
  span.recordException({ name: error.name, message: error.message, stack: error.stack });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

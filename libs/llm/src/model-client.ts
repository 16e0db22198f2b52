import OpenAI from 'openai';
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ModelTier, TokenUsage } from '@deliberate/contracts';
import {
  type BackgroundPollPolicy,
  DEFAULT_BACKGROUND_POLL_CONCURRENCY,
  DEFAULT_BACKGROUND_POLL_FACTOR,
  DEFAULT_BACKGROUND_POLL_FIRST_MS,
  DEFAULT_BACKGROUND_POLL_MAX_MS,
  DEFAULT_MODEL_API,
  type ModelApi,
  type ModelTierConfig,
  type ModelTierConfigs,
} from './llm-config';
import { ModelCallError, toModelCallError } from './model-call-error';
import { ModelCallMetrics } from './model-call-metrics';
import type { ServiceMetrics } from '@deliberate/metrics';
import {
  toModelCallResult,
  toModelCallResultFromResponse,
  usageFromResponse,
  type ModelCallResult,
} from './model-call-result';
import { realmSafeFetch } from './realm-safe-fetch';
import { withRequestSignal } from './request-signal';
import { RequestSlots } from './request-slots';

export const LLM_TRACER_NAME = 'deliberate.llm';

export interface LlmMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high';

export type ResponseFormat =
  OpenAI.ResponseFormatText | OpenAI.ResponseFormatJSONObject | OpenAI.ResponseFormatJSONSchema;

export type ReasoningSummary = 'auto' | 'concise' | 'detailed';
export type ServiceTier = 'auto' | 'default' | 'flex';

export interface CompleteRequest {
  messages: readonly LlmMessage[];
  /**
   * Another model than the tier's, on the tier's provider (its base URL, key and API): a shadow evaluation's
   * candidate. The tier's own model when absent.
   */
  model?: string | undefined;
  /** Reasoning plus visible tokens; on reasoning models a low value can leave the answer empty. */
  maxCompletionTokens?: number | undefined;
  /** Sent only when set: non-reasoning models on some providers reject the parameter. */
  reasoningEffort?: ReasoningEffort | undefined;
  responseFormat?: ResponseFormat | undefined;
  /** Chat completions only: the Responses API has no seed. */
  seed?: number | undefined;
  temperature?: number | undefined;
  /**
   * Responses API only. The reasoning summary to ask for; `auto` whenever reasoningEffort is set, so the summaries
   * reach the trace. Leave both unset for models that do not reason.
   */
  reasoningSummary?: ReasoningSummary | undefined;
  /** Responses API only: the service tier to ask for; a `flex` refusal is a rate_limited error. */
  serviceTier?: ServiceTier | undefined;
  /** Responses API only: return the encrypted reasoning items (ModelCallResult.encryptedReasoning). */
  includeEncryptedReasoning?: boolean | undefined;
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

/** Options of a poll or cancel of a background response. */
export interface BackgroundRequestOptions {
  signal?: AbortSignal | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  timeoutMs?: number | undefined;
  maxRetries?: number | undefined;
}

/** A background response as the provider last reported it. */
export type BackgroundState =
  | { status: 'queued' | 'in_progress'; responseId: string }
  /** Ended with an answer, or with its output budget spent (finishReason `length`): billed, usage in the result. */
  | { status: 'completed' | 'incomplete'; responseId: string; result: ModelCallResult }
  /** Cancelled: usage is what the provider billed for the part that ran, when it reports it. */
  | { status: 'cancelled'; responseId: string; usage: TokenUsage | null }
  | { status: 'failed'; responseId: string; error: ModelCallError };

interface TierClient {
  config: ModelTierConfig;
  sdk: OpenAI;
  serverAddress: string | undefined;
  /** The tier's polls of background responses in flight at once. */
  pollSlots: RequestSlots;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

type ResponsesFormat = OpenAI.Responses.ResponseFormatTextConfig;

// Chat's response_format as the Responses API's text.format, which flattens json_schema.
export function responsesFormatOf(format: ResponseFormat): ResponsesFormat {
  if (format.type !== 'json_schema') return format;
  const { name, schema, strict, description } = format.json_schema;
  return {
    type: 'json_schema',
    name,
    schema: schema ?? {},
    ...(strict !== undefined && { strict }),
    ...(description !== undefined && { description }),
  };
}

/** The Responses API request body for a call; `background` asks the provider to hold the work. */
export function responsesBody(
  model: string,
  request: CompleteRequest,
  background: boolean,
): OpenAI.Responses.ResponseCreateParamsNonStreaming {
  const summary =
    request.reasoningSummary ?? (request.reasoningEffort !== undefined ? ('auto' as const) : undefined);
  return {
    model,
    input: request.messages.map((m) => ({ role: m.role, content: m.content })),
    ...(request.maxCompletionTokens !== undefined && { max_output_tokens: request.maxCompletionTokens }),
    ...((request.reasoningEffort !== undefined || summary !== undefined) && {
      reasoning: {
        ...(request.reasoningEffort !== undefined && { effort: request.reasoningEffort }),
        ...(summary !== undefined && { summary }),
      },
    }),
    ...(request.responseFormat !== undefined && {
      text: { format: responsesFormatOf(request.responseFormat) },
    }),
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.serviceTier !== undefined && { service_tier: request.serviceTier }),
    ...(request.includeEncryptedReasoning === true && { include: ['reasoning.encrypted_content'] }),
    ...(background && { background: true }),
  };
}

// The one way services reach models: one official openai SDK client per tier, whose own retry loop (honouring
// retry-after) does the retrying; this class normalises results and errors and traces each call. A tier speaks
// chat completions or the Responses API, as configured; both end in the same ModelCallResult.
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
        pollSlots: new RequestSlots(config.poll?.concurrency ?? DEFAULT_BACKGROUND_POLL_CONCURRENCY),
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

  apiOf(tier: ModelTier): ModelApi {
    return this.client(tier).config.api ?? DEFAULT_MODEL_API;
  }

  /** Whether the tier's calls are submitted in background mode and polled by id (a Responses tier). */
  isBackground(tier: ModelTier): boolean {
    const { config } = this.client(tier);
    return config.background === true && (config.api ?? DEFAULT_MODEL_API) === 'responses';
  }

  /** How the tier's background calls are polled. */
  pollPolicyOf(tier: ModelTier): BackgroundPollPolicy {
    return (
      this.client(tier).config.poll ?? {
        firstMs: DEFAULT_BACKGROUND_POLL_FIRST_MS,
        factor: DEFAULT_BACKGROUND_POLL_FACTOR,
        maxMs: DEFAULT_BACKGROUND_POLL_MAX_MS,
        concurrency: DEFAULT_BACKGROUND_POLL_CONCURRENCY,
      }
    );
  }

  /** One call on the tier's model, through the tier's API. Throws ModelCallError for every failure. */
  async complete(tier: ModelTier, request: CompleteRequest): Promise<ModelCallResult> {
    const client = this.client(tier);
    const api = client.config.api ?? DEFAULT_MODEL_API;
    const model = request.model ?? client.config.model;
    return this.traced(tier, client, api, request, async () => {
      const started = performance.now();
      const context = (requestId: string | null) => ({
        tier,
        latencyMs: performance.now() - started,
        requestId,
      });
      if (api === 'responses') {
        const { data, request_id } = await withRequestSignal(request.signal, (signal) =>
          client.sdk.responses
            .create(responsesBody(model, request, false), this.requestOptions(request, signal))
            .withResponse(),
        );
        const result = toModelCallResultFromResponse(data, context(request_id));
        if (!result) throw unfinished(data, tier, model, request_id);
        return result;
      }
      const { data, request_id } = await withRequestSignal(request.signal, (signal) =>
        client.sdk.chat.completions
          .create(
            {
              model,
              messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
              ...(request.maxCompletionTokens !== undefined && {
                max_completion_tokens: request.maxCompletionTokens,
              }),
              ...(request.reasoningEffort !== undefined && { reasoning_effort: request.reasoningEffort }),
              ...(request.responseFormat !== undefined && { response_format: request.responseFormat }),
              ...(request.seed !== undefined && { seed: request.seed }),
              ...(request.temperature !== undefined && { temperature: request.temperature }),
            },
            this.requestOptions(request, signal),
          )
          .withResponse(),
      );
      const result = toModelCallResult(data, context(request_id));
      if (!result) {
        throw new ModelCallError('The model returned no choices.', {
          kind: 'server_error',
          retryable: false,
          tier,
          model,
          status: null,
          code: null,
          requestId: request_id,
          retryAfterMs: null,
          cause: undefined,
        });
      }
      return result;
    });
  }

  /**
   * Submits a call in the Responses API's background mode and returns at once with the provider's response id: the
   * provider holds the work, so whoever has the id can poll or cancel it, from any process. Needs a Responses tier.
   */
  async startBackground(
    tier: ModelTier,
    request: CompleteRequest,
  ): Promise<{ responseId: string; status: BackgroundState['status']; requestId: string | null }> {
    const client = this.responsesClient(tier);
    return this.tracedStep(tier, client, 'start', request.signal, async () => {
      const { data, request_id } = await withRequestSignal(request.signal, (signal) =>
        client.sdk.responses
          .create(responsesBody(client.config.model, request, true), this.requestOptions(request, signal))
          .withResponse(),
      );
      return { responseId: data.id, status: backgroundStatus(data), requestId: request_id };
    });
  }

  /**
   * The background response's state now; its result once it has ended. At most the tier's poll concurrency of these
   * are in flight at once in this process; the others wait their turn (an aborted wait throws an `aborted` error).
   */
  async pollBackground(
    tier: ModelTier,
    responseId: string,
    options: BackgroundRequestOptions = {},
  ): Promise<BackgroundState> {
    const client = this.responsesClient(tier);
    return this.tracedStep(tier, client, 'poll', options.signal, async () => {
      const release = await client.pollSlots.acquire(options.signal);
      try {
        const { data, request_id } = await withRequestSignal(options.signal, (signal) =>
          client.sdk.responses.retrieve(responseId, {}, this.requestOptions(options, signal)).withResponse(),
        );
        return this.backgroundState(tier, client, data, request_id);
      } finally {
        release();
      }
    });
  }

  /** Asks the provider to stop the background response; returns its state after the cancel. */
  async cancelBackground(
    tier: ModelTier,
    responseId: string,
    options: BackgroundRequestOptions = {},
  ): Promise<BackgroundState> {
    const client = this.responsesClient(tier);
    return this.tracedStep(tier, client, 'cancel', options.signal, async () => {
      const { data, request_id } = await withRequestSignal(options.signal, (signal) =>
        client.sdk.responses.cancel(responseId, this.requestOptions(options, signal)).withResponse(),
      );
      return this.backgroundState(tier, client, data, request_id);
    });
  }

  private backgroundState(
    tier: ModelTier,
    client: TierClient,
    response: OpenAI.Responses.Response,
    requestId: string | null,
  ): BackgroundState {
    const responseId = response.id;
    const status = backgroundStatus(response);
    switch (status) {
      case 'queued':
      case 'in_progress':
        return { status, responseId };
      case 'cancelled':
        return { status, responseId, usage: response.usage ? usageFromResponse(response.usage) : null };
      case 'failed':
        return { status, responseId, error: unfinished(response, tier, client.config.model, requestId) };
      case 'completed':
      case 'incomplete': {
        // The call's latency is the provider's: from its creation until now (seconds are all it reports).
        const latencyMs = Math.max(0, Date.now() - response.created_at * 1_000);
        const result = toModelCallResultFromResponse(response, { tier, latencyMs, requestId });
        if (!result)
          return {
            status: 'failed',
            responseId,
            error: unfinished(response, tier, client.config.model, requestId),
          };
        this.metrics?.succeeded(this.metricAttributes(tier, client, 'responses'), result, latencyMs / 1_000);
        return { status, responseId, result };
      }
    }
  }

  // `signal`: the request's own (withRequestSignal), never the caller's long-lived one.
  private requestOptions(
    request: BackgroundRequestOptions & { requestId?: string | undefined },
    signal: AbortSignal,
  ): OpenAI.RequestOptions {
    return {
      signal,
      headers: withClientRequestId(request.headers, request.requestId),
      ...(request.timeoutMs !== undefined && { timeout: request.timeoutMs }),
      ...(request.maxRetries !== undefined && { maxRetries: request.maxRetries }),
    };
  }

  private metricAttributes(
    tier: ModelTier,
    client: TierClient,
    api: ModelApi,
    model = client.config.model,
  ): Attributes {
    const attributes: Attributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': model,
      'deliberate.model_tier': tier,
      'deliberate.model_api': api,
    };
    if (client.serverAddress) attributes['server.address'] = client.serverAddress;
    return attributes;
  }

  // One span and one pair of metrics per call, whichever API it went through.
  private traced(
    tier: ModelTier,
    client: TierClient,
    api: ModelApi,
    request: CompleteRequest,
    call: () => Promise<ModelCallResult>,
  ): Promise<ModelCallResult> {
    const model = request.model ?? client.config.model;
    // The metrics' labels: the span's bounded attributes only (no token limits, seeds or request ids).
    const metricAttributes = this.metricAttributes(tier, client, api, model);
    const attributes: Attributes = { ...metricAttributes };
    if (request.maxCompletionTokens !== undefined)
      attributes['gen_ai.request.max_tokens'] = request.maxCompletionTokens;
    if (request.seed !== undefined) attributes['gen_ai.request.seed'] = request.seed;
    if (request.reasoningEffort !== undefined)
      attributes['deliberate.reasoning_effort'] = request.reasoningEffort;
    if (request.serviceTier !== undefined) attributes['openai.request.service_tier'] = request.serviceTier;
    if (request.requestId !== undefined) attributes['deliberate.client_request_id'] = request.requestId;

    const tracer = trace.getTracer(LLM_TRACER_NAME);
    return tracer.startActiveSpan(`chat ${model}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const started = performance.now();
      try {
        const result = await call();
        recordResult(span, result);
        this.metrics?.succeeded(metricAttributes, result, (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        const mapped = toModelCallError(error, { tier, model, signal: request.signal });
        recordError(span, mapped);
        this.metrics?.failed(metricAttributes, mapped, (performance.now() - started) / 1000);
        throw mapped;
      } finally {
        span.end();
      }
    });
  }

  // A step of a background call (start, poll, cancel): a span, and errors mapped like any call's.
  private tracedStep<T>(
    tier: ModelTier,
    client: TierClient,
    step: 'start' | 'poll' | 'cancel',
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    const { config } = client;
    const attributes: Attributes = {
      ...this.metricAttributes(tier, client, 'responses'),
      'deliberate.background_step': step,
    };
    return trace
      .getTracer(LLM_TRACER_NAME)
      .startActiveSpan(
        `responses.${step} ${config.model}`,
        { kind: SpanKind.CLIENT, attributes },
        async (span) => {
          try {
            return await run();
          } catch (error) {
            const mapped = toModelCallError(error, { tier, model: config.model, signal });
            recordError(span, mapped);
            throw mapped;
          } finally {
            span.end();
          }
        },
      );
  }

  private responsesClient(tier: ModelTier): TierClient {
    const client = this.client(tier);
    if ((client.config.api ?? DEFAULT_MODEL_API) !== 'responses')
      throw new Error(`ModelClient: tier '${tier}' is not configured for the Responses API`);
    return client;
  }

  private client(tier: ModelTier): TierClient {
    const client = this.clients.get(tier);
    if (!client) throw new Error(`ModelClient: tier '${tier}' is not configured`);
    return client;
  }
}

function backgroundStatus(response: OpenAI.Responses.Response): BackgroundState['status'] {
  // A response without a status is one the provider finished in the same reply.
  return response.status ?? 'completed';
}

// A response that ended without an answer (failed, or cancelled when an answer was awaited), as the error it is.
function unfinished(
  response: OpenAI.Responses.Response,
  tier: ModelTier,
  model: string,
  requestId: string | null,
): ModelCallError {
  const code = response.error?.code ?? null;
  const rateLimited = code === 'rate_limit_exceeded';
  return new ModelCallError(
    response.error?.message ?? `The response ended ${response.status ?? 'without a status'}.`,
    {
      kind: rateLimited ? 'rate_limited' : 'server_error',
      retryable: rateLimited || code === 'server_error',
      tier,
      model,
      status: null,
      code,
      requestId,
      retryAfterMs: null,
      cause: undefined,
    },
  );
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
  if (result.responseId) span.setAttribute('openai.response.id', result.responseId);
  if (result.serviceTier) span.setAttribute('openai.response.service_tier', result.serviceTier);
}

function recordError(span: Span, error: ModelCallError): void {
  span.setAttribute('error.type', error.kind);
  if (error.status !== null) span.setAttribute('http.response.status_code', error.status);
  span.recordException({ name: error.name, message: error.message, stack: error.stack });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

import { GEN_AI_DURATION_BUCKETS, GEN_AI_TOKEN_BUCKETS } from '@deliberate/metrics';
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import type { ModelCallError } from './model-call-error';
import type { ModelCallResult } from './model-call-result';

// The OpenTelemetry GenAI client metrics. Labels: operation, provider, models, tier, server and error type, never a
// tenant, task or request id. Token types are input and output as the conventions define them, plus reasoning (the
// part of the output a reasoning model spent thinking, counted again under its own type).
export class ModelCallMetrics {
  private readonly tokens: Histogram;
  private readonly duration: Histogram;

  constructor(meter: Meter) {
    this.tokens = meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Tokens used by a model call, by token type',
      unit: '{token}',
      advice: { explicitBucketBoundaries: GEN_AI_TOKEN_BUCKETS },
    });
    this.duration = meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'Duration of a model call, retries by the SDK included',
      unit: 's',
      advice: { explicitBucketBoundaries: GEN_AI_DURATION_BUCKETS },
    });
  }

  succeeded(base: Attributes, result: ModelCallResult, seconds: number): void {
    const attributes = { ...base, 'gen_ai.response.model': result.model };
    this.duration.record(seconds, attributes);
    this.tokens.record(result.usage.inputTokens, { ...attributes, 'gen_ai.token.type': 'input' });
    this.tokens.record(result.usage.outputTokens, { ...attributes, 'gen_ai.token.type': 'output' });
    if (result.usage.reasoningTokens > 0)
      this.tokens.record(result.usage.reasoningTokens, { ...attributes, 'gen_ai.token.type': 'reasoning' });
  }

  failed(base: Attributes, error: ModelCallError, seconds: number): void {
    this.duration.record(seconds, { ...base, 'error.type': error.kind });
  }
}

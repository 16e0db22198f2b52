import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ModelTier } from '@deliberate/contracts';

export type ModelCallErrorKind =
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'aborted'
  | 'bad_request'
  | 'auth'
  | 'not_found'
  | 'connection';

export interface ModelCallErrorDetails {
  kind: ModelCallErrorKind;
  /** Whether trying again later may succeed. The SDK has already retried `maxRetries` times by then. */
  retryable: boolean;
  tier: ModelTier;
  model: string;
  status: number | null;
  /** The provider's error code, e.g. `rate_limit_exceeded`, `model_not_found`. */
  code: string | null;
  requestId: string | null;
  /** From retry-after-ms / retry-after on a 429 or 503, when the provider sent one. */
  retryAfterMs: number | null;
  cause: unknown;
}

// The one error type callers see: the kind drives their fallback and retry policy; the message stays the provider's.
export class ModelCallError extends Error {
  readonly kind: ModelCallErrorKind;
  readonly retryable: boolean;
  readonly tier: ModelTier;
  readonly model: string;
  readonly status: number | null;
  readonly code: string | null;
  readonly requestId: string | null;
  readonly retryAfterMs: number | null;

  constructor(message: string, details: ModelCallErrorDetails) {
    super(message, { cause: details.cause });
    this.name = 'ModelCallError';
    this.kind = details.kind;
    this.retryable = details.retryable;
    this.tier = details.tier;
    this.model = details.model;
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export function retryAfterMs(headers: Headers | undefined): number | null {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get('retry-after');
  if (!raw) return null;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

function kindOfStatus(status: number): { kind: ModelCallErrorKind; retryable: boolean } {
  if (status === 429) return { kind: 'rate_limited', retryable: true };
  if (status === 401 || status === 403) return { kind: 'auth', retryable: false };
  if (status === 404) return { kind: 'not_found', retryable: false };
  // Request Timeout and lock-timeout Conflict are transient; the SDK retries both.
  if (status === 408) return { kind: 'timeout', retryable: true };
  if (status === 409 || status >= 500) return { kind: 'server_error', retryable: true };
  return { kind: 'bad_request', retryable: false };
}

export function toModelCallError(
  error: unknown,
  context: { tier: ModelTier; model: string; signal?: AbortSignal | undefined },
): ModelCallError {
  if (error instanceof ModelCallError) return error;
  const base = { tier: context.tier, model: context.model, cause: error };
  const message = error instanceof Error ? error.message : String(error);
  const none = { status: null, code: null, requestId: null, retryAfterMs: null };
  // The caller's abort wins over whatever the transport made of it.
  if (error instanceof APIUserAbortError || context.signal?.aborted) {
    return new ModelCallError(message, { ...base, ...none, kind: 'aborted', retryable: false });
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new ModelCallError(message, { ...base, ...none, kind: 'timeout', retryable: true });
  }
  if (error instanceof APIConnectionError) {
    return new ModelCallError(message, { ...base, ...none, kind: 'connection', retryable: true });
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const headers = error.headers instanceof Headers ? error.headers : undefined;
    return new ModelCallError(message, {
      ...base,
      ...kindOfStatus(error.status),
      status: error.status,
      code: typeof error.code === 'string' ? error.code : null,
      requestId: error.requestID ?? null,
      retryAfterMs: retryAfterMs(headers),
    });
  }
  // Anything else (an unparseable body, a bug) is not known to be transient.
  return new ModelCallError(message, { ...base, ...none, kind: 'server_error', retryable: false });
}

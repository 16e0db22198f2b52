import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  RateLimitError,
} from 'openai';
import { ModelCallError, retryAfterMs, toModelCallError } from './model-call-error';

const context = { tier: 'reasoning' as const, model: 'sim-reasoner' };

function httpError(
  status: number,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): APIError {
  return APIError.generate(
    status,
    { error: { message: `status ${status}`, ...body } },
    undefined,
    new Headers(headers),
  );
}

describe('toModelCallError', () => {
  it.each([
    [429, 'rate_limited', true],
    [401, 'auth', false],
    [403, 'auth', false],
    [404, 'not_found', false],
    [400, 'bad_request', false],
    [422, 'bad_request', false],
    [408, 'timeout', true],
    [409, 'server_error', true],
    [500, 'server_error', true],
    [503, 'server_error', true],
  ])('maps HTTP %i to %s', (status, kind, retryable) => {
    const mapped = toModelCallError(httpError(status), context);
    expect(mapped).toBeInstanceOf(ModelCallError);
    expect(mapped).toMatchObject({ kind, retryable, status, tier: 'reasoning', model: 'sim-reasoner' });
    expect(mapped.message).toBe(`${status} status ${status}`);
  });

  it('keeps the code, request id and retry-after of a 429', () => {
    const error = new RateLimitError(
      429,
      { message: 'slow down', code: 'rate_limit_exceeded' },
      undefined,
      new Headers({ 'retry-after': '2', 'x-request-id': 'req_1' }),
    );
    expect(toModelCallError(error, context)).toMatchObject({
      kind: 'rate_limited',
      code: 'rate_limit_exceeded',
      requestId: 'req_1',
      retryAfterMs: 2_000,
      message: '429 slow down',
    });
  });

  it('maps transport failures', () => {
    expect(toModelCallError(new APIConnectionTimeoutError(), context)).toMatchObject({
      kind: 'timeout',
      retryable: true,
    });
    expect(toModelCallError(new APIConnectionError({ message: 'ECONNREFUSED' }), context)).toMatchObject({
      kind: 'connection',
      retryable: true,
      message: 'ECONNREFUSED',
    });
    expect(toModelCallError(new APIUserAbortError(), context)).toMatchObject({
      kind: 'aborted',
      retryable: false,
    });
  });

  it('reports a call whose signal was aborted as aborted, whatever the transport said', () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      toModelCallError(new APIConnectionError({ message: 'socket hang up' }), {
        ...context,
        signal: controller.signal,
      }),
    ).toMatchObject({ kind: 'aborted' });
  });

  it('treats unknown errors as non-retryable server errors and keeps the cause', () => {
    const cause = new SyntaxError('Unexpected token');
    const mapped = toModelCallError(cause, context);
    expect(mapped).toMatchObject({ kind: 'server_error', retryable: false, message: 'Unexpected token' });
    expect(mapped.cause).toBe(cause);
  });

  it('passes a ModelCallError through', () => {
    const original = toModelCallError(httpError(500), context);
    expect(toModelCallError(original, context)).toBe(original);
  });
});

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, then retry-after seconds or date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }))).toBe(1_500);
    const date = new Date(Date.now() + 60_000).toUTCString();
    expect(retryAfterMs(new Headers({ 'retry-after': date }))).toBeGreaterThan(50_000);
    expect(retryAfterMs(new Headers())).toBeNull();
    expect(retryAfterMs(undefined)).toBeNull();
  });
});

import type { Request, Response } from 'express';
import { refuseUnsafeBodyText, refuseUnsafeRequestText } from './unsafe-text.middleware';

interface Outcome {
  passed: boolean;
  status?: number;
  body?: unknown;
}

function run(
  middleware: typeof refuseUnsafeRequestText,
  req: { body?: unknown; query?: unknown; headers?: Record<string, string> },
): Outcome {
  const outcome: Outcome = { passed: false };
  const res = {
    status(code: number) {
      outcome.status = code;
      return this;
    },
    json(body: unknown) {
      outcome.body = body;
      return this;
    },
  };
  middleware(
    { query: {}, headers: {}, ...req } as unknown as Request,
    res as unknown as Response,
    () => (outcome.passed = true),
  );
  return outcome;
}

describe('refuseUnsafeBodyText', () => {
  it('passes a body without NUL or lone surrogates, and a request without a body', () => {
    expect(run(refuseUnsafeBodyText, { body: { input: 'caf\u00e9 \ud83d\ude00', n: 1 } }).passed).toBe(true);
    expect(run(refuseUnsafeBodyText, {}).passed).toBe(true);
  });

  it('answers 400 naming the field that holds a NUL', () => {
    expect(run(refuseUnsafeBodyText, { body: { metadata: { note: 'a\u0000b' } } })).toEqual({
      passed: false,
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: 'metadata.note: contains a NUL character (\\u0000)',
      },
    });
  });

  it('names a bare string body as the body, and says what a lone surrogate is', () => {
    expect(run(refuseUnsafeBodyText, { body: 'x\ud800' }).body).toMatchObject({
      message: 'body: contains a lone UTF-16 surrogate (not valid Unicode)',
    });
  });
});

describe('refuseUnsafeRequestText', () => {
  it('passes ordinary query strings and headers', () => {
    expect(
      run(refuseUnsafeRequestText, {
        query: { tenantId: 't1', tags: ['a', 'b'] },
        headers: { 'idempotency-key': 'k' },
      }).passed,
    ).toBe(true);
  });

  it('answers 400 naming the query parameter', () => {
    expect(run(refuseUnsafeRequestText, { query: { tenantId: 't1\u0000' } }).body).toMatchObject({
      statusCode: 400,
      message: 'query.tenantId: contains a NUL character (\\u0000)',
    });
  });

  it('answers 400 naming the header', () => {
    const outcome = run(refuseUnsafeRequestText, { headers: { 'idempotency-key': 'k\u0000' } });
    expect(outcome.status).toBe(400);
    expect(outcome.body).toMatchObject({
      message: 'header.idempotency-key: contains a NUL character (\\u0000)',
    });
  });
});

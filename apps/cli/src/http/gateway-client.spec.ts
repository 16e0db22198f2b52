import { CliError, EXIT } from '../exit-codes';
import { type Fetch, GatewayClient, problemMessage } from './gateway-client';

const CONNECTION = { url: 'http://gateway.test', apiKey: 'k-123' };

function answering(status: number, body: string, headers: Record<string, string> = {}) {
  const seen: { url: string; init: RequestInit }[] = [];
  const fetchImpl: Fetch = (url, init) => {
    seen.push({ url, init });
    return Promise.resolve(new Response(status === 204 ? null : body, { status, headers }));
  };
  return { client: new GatewayClient(CONNECTION, fetchImpl), seen };
}

async function failure(p: Promise<unknown>): Promise<CliError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CliError);
  return e as CliError;
}

describe('GatewayClient', () => {
  it('sends the bearer key, a JSON body and the query, and parses the JSON answer', async () => {
    const { client, seen } = answering(202, '{"id":"t1"}', { 'content-type': 'application/json' });
    await expect(
      client.request('POST', '/v1/tasks', {
        body: { input: 'x' },
        query: { a: 1, b: undefined },
        headers: { 'idempotency-key': 'i' },
      }),
    ).resolves.toEqual({ id: 't1' });
    expect(seen[0]!.url).toBe('http://gateway.test/v1/tasks?a=1');
    expect(seen[0]!.init.headers).toMatchObject({
      authorization: 'Bearer k-123',
      'content-type': 'application/json',
      'idempotency-key': 'i',
    });
    expect(seen[0]!.init.body).toBe('{"input":"x"}');
  });

  it("fails with the API's own message and the exit code of its status", async () => {
    const refused = answering(401, '{"statusCode":401,"error":"Unauthorized","message":"unknown API key"}');
    const e = await failure(refused.client.request('GET', '/v1/tasks/x'));
    expect([e.message, e.exitCode]).toEqual(['unknown API key (HTTP 401 Unauthorized)', EXIT.refused]);
    const invalid = answering(
      400,
      JSON.stringify({
        statusCode: 400,
        error: 'Bad Request',
        message: 'invalid body',
        issues: [{ path: 'input', message: 'must not be empty' }],
      }),
    );
    const bad = await failure(invalid.client.request('POST', '/v1/tasks'));
    expect([bad.message, bad.exitCode]).toEqual([
      'invalid body (HTTP 400 Bad Request)\n  - input: must not be empty',
      EXIT.usage,
    ]);
    const busy = await failure(
      answering(503, '{"message":"read database unavailable"}', { 'retry-after': '5' }).client.request(
        'GET',
        '/x',
      ),
    );
    expect([busy.message, busy.exitCode]).toEqual([
      'read database unavailable (HTTP 503); retry after 5 s',
      EXIT.unavailable,
    ]);
  });

  it('shows the start of an error answer that is not JSON, escaped', async () => {
    const e = await failure(answering(502, `<html>\n${'x'.repeat(300)}</html>`).client.request('GET', '/x'));
    expect(e.exitCode).toBe(EXIT.unavailable);
    expect(e.message).toMatch(/^HTTP 502: <html>\\nxxx/);
    expect(e.message.endsWith('…')).toBe(true);
  });

  it('refuses a successful answer that is not JSON, and accepts an empty one', async () => {
    const e = await failure(
      answering(200, 'OK', { 'content-type': 'text/plain' }).client.request('GET', '/v1/tasks/x'),
    );
    expect([e.message, e.exitCode]).toEqual([
      'the gateway answered GET /v1/tasks/x (HTTP 200, text/plain) with something that is not JSON: OK',
      EXIT.unexpected,
    ]);
    await expect(answering(204, '').client.request('POST', '/x')).resolves.toBeNull();
  });

  it('names a gateway it cannot reach as unavailable', async () => {
    const down: Fetch = () =>
      Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
    const e = await failure(new GatewayClient(CONNECTION, down).request('GET', '/x'));
    expect([e.message, e.exitCode]).toEqual([
      'cannot reach the gateway at http://gateway.test: ECONNREFUSED',
      EXIT.unavailable,
    ]);
  });

  it('reads a problem whose message is a list (Nest validation) as one line', () => {
    expect(problemMessage(400, '{"message":["a","b"],"error":"Bad Request"}', null)).toBe(
      'a; b (HTTP 400 Bad Request)',
    );
  });
});

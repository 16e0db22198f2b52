import { ApiError, createApiClient, problemMessage, withQuery } from './api-client';

describe('withQuery', () => {
  it('adds the non-empty values, encoded', () => {
    expect(withQuery('/v1/audit/events', { q: 'a b', type: '', limit: 5, taskId: undefined })).toBe(
      '/v1/audit/events?q=a+b&limit=5',
    );
    expect(withQuery('/v1/me')).toBe('/v1/me');
  });
});

describe('problemMessage', () => {
  it("is the API's own message, else the status", () => {
    expect(problemMessage(409, { statusCode: 409, message: 'task x is claimed by another reviewer' })).toBe(
      'task x is claimed by another reviewer',
    );
    expect(problemMessage(400, { message: ['a', 'b'] })).toBe('a; b');
    expect(problemMessage(502, null)).toBe('the API answered 502');
  });
});

describe('createApiClient', () => {
  const calls: { input: string; init: RequestInit | undefined }[] = [];
  const fetchFn = (answer: Response) => (input: string, init?: RequestInit) => {
    calls.push({ input, init });
    return Promise.resolve(answer);
  };

  beforeEach(() => (calls.length = 0));

  it('sends the key as a bearer token and a JSON body, without cookies', async () => {
    const api = createApiClient('dlb_key', fetchFn(Response.json({ id: 't', status: 'answered' })));
    await expect(api.post('/v1/reviews/t/answer', { answer: 'yes' })).resolves.toEqual({
      id: 't',
      status: 'answered',
    });
    const init = calls[0]!.init!;
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>)['Authorization']).toBe('Bearer dlb_key');
    expect(init.body).toBe('{"answer":"yes"}');
    expect(init.credentials).toBe('omit');
  });

  it("turns a refusal into an ApiError with the API's message", async () => {
    const api = createApiClient(
      'k',
      fetchFn(
        Response.json(
          { statusCode: 403, message: "role 'submitter' may not call this endpoint" },
          { status: 403 },
        ),
      ),
    );
    const error = await api.get('/v1/reviews').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 403, message: "role 'submitter' may not call this endpoint" });
  });
});

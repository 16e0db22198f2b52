// The console's only way to the server: the public API on the same origin, with the signed-in key as a bearer
// token. A refused call becomes an ApiError carrying the API's own message.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | undefined>;

/** The path with its query, leaving out empty values. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** The message a failed answer carries: a problem's `message` (joined when a list), else its status. */
export function problemMessage(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string' && message) return message;
    if (Array.isArray(message) && message.length) return message.map(String).join('; ');
  }
  return `the API answered ${status}`;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClient {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** A file answer (an export): its bytes and the name to save them under. */
  download(path: string, query?: Query): Promise<Blob>;
}

export function createApiClient(
  apiKey: string,
  fetchFn: Fetch = (input, init) => fetch(input, init),
): ApiClient {
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetchFn(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    if (!res.ok) {
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      throw new ApiError(res.status, problemMessage(res.status, parsed));
    }
    return res;
  };
  return {
    get: async <T>(path: string, query?: Query) =>
      (await (await call('GET', withQuery(path, query))).json()) as T,
    post: async <T>(path: string, body?: unknown) => {
      const res = await call('POST', path, body);
      return (res.status === 204 ? null : await res.json()) as T;
    },
    download: async (path: string, query?: Query) => (await call('GET', withQuery(path, query))).blob(),
  };
}

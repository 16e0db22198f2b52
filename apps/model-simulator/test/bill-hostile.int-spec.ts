import { ModelClient, type ModelTierConfig, type ModelTierConfigs } from '@deliberate/llm';
import type { BillBody } from '../src/bill/simulator-bill';
import { startSimulator, type RunningSimulator } from '../src/simulator-app';

// The bill's edges: a `since` that is not one ISO 8601 date-time is a 400 naming it (never read as some other date,
// never a 500), a missing or forged API key reads and resets nothing, and calls made at once under one request id
// are each billed, as a provider bills every call it served.

const KEY = 'bill-hostile-key';

function tiers(baseUrl: string): ModelTierConfigs {
  const tier = (model: string): ModelTierConfig => ({
    baseUrl,
    apiKey: KEY,
    model,
    timeoutMs: 10_000,
    maxRetries: 0,
  });
  return { fast: tier('sim-fast'), reasoning: tier('sim-reasoner'), standard: tier('sim-standard') };
}

let sim: RunningSimulator;
let client: ModelClient;

beforeAll(async () => {
  sim = await startSimulator({ timeScale: 0, apiKey: KEY });
  client = new ModelClient(tiers(sim.baseURL));
});

afterAll(async () => {
  await sim?.close();
});

async function bill(query = '', headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) {
  const res = await fetch(`${sim.url}/v1/bill${query}`, { headers });
  return {
    status: res.status,
    body: (await res.json()) as BillBody & { error?: { param?: string; code?: string } },
  };
}

describe('a since that is not one ISO 8601 date-time', () => {
  const values: [string, string][] = [
    ['empty', '?since='],
    ['a bare number', '?since=1'],
    ['zero', '?since=0'],
    ['an epoch in ms', '?since=1764547200000'],
    ['an RFC 2822 date', `?since=${encodeURIComponent('Tue, 01 Dec 2026 00:00:00 GMT')}`],
    ['a month 13', '?since=2026-13-01T00:00:00Z'],
    ['a day 32', '?since=2026-01-32T00:00:00Z'],
    ['past the last date JavaScript holds', '?since=%2B275760-09-13T00:00:00.001Z'],
    ['a NUL', '?since=%00'],
    ['a date-time with a NUL after it', '?since=2026-01-01T00:00:00Z%00'],
    ['a lone surrogate as UTF-8 bytes', '?since=%ED%A0%80'],
    ['bytes that are not UTF-8', '?since=%FF%FE'],
    ['10,000 digits', `?since=${'9'.repeat(10_000)}`],
    ['given twice', '?since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z'],
    ['the word null', '?since=null'],
    ['NaN', '?since=NaN'],
  ];

  it.each(values)('%s is a 400 naming since', async (_, query) => {
    const res = await bill(query);
    expect({ status: res.status, error: res.body.error }).toMatchObject({
      status: 400,
      error: { param: 'since', code: 'invalid_since' },
    });
  });

  it('a date-time with an offset or without milliseconds is read as the moment it names', async () => {
    await client.complete('fast', {
      messages: [{ role: 'user', content: 'billed' }],
      requestId: 'since-forms',
    });
    for (const since of ['2000-01-01T00:00:00Z', '2000-01-01T01:00:00+01:00', '2000-01-01T00:00:00.000Z']) {
      const res = await bill(`?since=${encodeURIComponent(since)}`);
      expect({ since, status: res.status, from: res.body.since }).toEqual({
        since,
        status: 200,
        from: '2000-01-01T00:00:00.000Z',
      });
      expect(res.body.calls.map((c) => c.clientRequestId)).toContain('since-forms');
    }
    const future = await bill(`?since=${encodeURIComponent('2999-01-01T00:00:00Z')}`);
    expect(future.body.calls).toEqual([]);
  });
});

describe('a missing or forged API key', () => {
  const forged: [string, Record<string, string>][] = [
    ['none', {}],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: `Basic ${KEY}` }],
    ['a prefix of the key', { authorization: `Bearer ${KEY.slice(0, -1)}` }],
    ['the key with more after it', { authorization: `Bearer ${KEY}x` }],
    ['the key twice', { authorization: `Bearer ${KEY}, Bearer ${KEY}` }],
    ['the key under another header', { 'api-key': KEY, 'x-api-key': KEY }],
    ['a latin-1 look-alike', { authorization: `Bearer ${KEY.replace('e', 'é')}` }],
  ];

  it.each(forged)('(%s) reads nothing and resets nothing', async (_, headers) => {
    await client.complete('fast', { messages: [{ role: 'user', content: 'kept' }], requestId: 'kept' });
    const before = (await bill()).body.totals.calls;
    expect(before).toBeGreaterThan(0);

    const read = await bill('', headers);
    expect(read.status).toBe(401);
    expect(read.body.calls).toBeUndefined();
    const reset = await fetch(`${sim.url}/v1/bill`, { method: 'DELETE', headers });
    expect(reset.status).toBe(401);

    expect((await bill()).body.totals.calls).toBe(before);
  });
});

describe('at once', () => {
  it('bills each of two calls sent at once under one request id', async () => {
    const id = `twice-${Date.now()}`;
    const answers = await Promise.all(
      [1, 2].map(() =>
        client.complete('fast', { messages: [{ role: 'user', content: 'same' }], requestId: id }),
      ),
    );
    const calls = (await bill()).body.calls.filter((c) => c.clientRequestId === id);
    expect(calls.map((c) => c.requestId).sort()).toEqual(answers.map((a) => a.requestId).sort());
  });

  it('two resets at once drop every call once between them', async () => {
    await client.complete('fast', { messages: [{ role: 'user', content: 'dropped' }] });
    const held = (await bill()).body.totals.calls;
    const resets = await Promise.all(
      [1, 2].map(async () => {
        const res = await fetch(`${sim.url}/v1/bill`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${KEY}` },
        });
        return ((await res.json()) as { dropped: number }).dropped;
      }),
    );
    expect(resets.reduce((a, b) => a + b, 0)).toBe(held);
    expect((await bill()).body.totals.calls).toBe(0);
  });
});

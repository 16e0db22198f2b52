import { decodeDenialCursor, denialsQuerySchema, encodeDenialCursor } from './ledger-denials.dto';

const ID = '0193a0c4-5e3b-7c41-9d2e-4f6a7b8c9d0e';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function issues(query: Record<string, unknown>): { path: string; message: string }[] {
  const parsed = denialsQuerySchema.safeParse(query);
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('denial cursor', () => {
  it('decodes what it encoded, to the millisecond', () => {
    const cursor = { deniedAt: new Date('2026-12-01T23:59:59.123Z'), id: ID };
    expect(decodeDenialCursor(encodeDenialCursor(cursor))).toEqual(cursor);
  });

  it.each<[string, string]>([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('[1,').toString('base64url')],
    ['an object', b64({ deniedAt: '2026-12-01T00:00:00.000Z', id: ID })],
    ['three parts', b64(['2026-12-01T00:00:00.000Z', ID, 1])],
    ['a bad id', b64(['2026-12-01T00:00:00.000Z', 'x'])],
    ['an upper-case id', b64(['2026-12-01T00:00:00.000Z', ID.toUpperCase()])],
    ['a number for the time', b64([0, ID])],
    ['a time not as written by the API', b64(['2026-12-01', ID])],
    ['an impossible time', b64(['2026-13-01T00:00:00.000Z', ID])],
    ['the empty string', ''],
  ])('refuses %s', (_what, value) => {
    expect(decodeDenialCursor(value)).toBeNull();
  });
});

describe('denialsQuerySchema', () => {
  it('defaults to a page of 50 and keeps the filters', () => {
    expect(
      denialsQuerySchema.parse({ reason: 'breaker_open', taskId: ID, from: '2026-12-01', limit: '500' }),
    ).toEqual({
      reason: 'breaker_open',
      taskId: ID,
      from: new Date('2026-12-01T00:00:00Z'),
      limit: 500,
    });
    expect(denialsQuerySchema.parse({}).limit).toBe(50);
  });

  it.each<[Record<string, unknown>, string, RegExp]>([
    [{ limit: '0' }, 'limit', /^must be a whole number from 1 to 500$/],
    [{ limit: '501' }, 'limit', /^must be a whole number from 1 to 500$/],
    [{ limit: '1e400' }, 'limit', /^must be a whole number from 1 to 500$/],
    [{ limit: '2.5' }, 'limit', /^must be a whole number from 1 to 500$/],
    [{ limit: 'ten' }, 'limit', /^must be a whole number from 1 to 500$/],
    [{ limit: '' }, 'limit', /^must be a whole number from 1 to 500$/],
    [{ limit: ['1', '2'] }, 'limit', /^must be a whole number from 1 to 500$/],
    [{ reason: 'bored' }, 'reason', /budget_exceeded/],
    [{ reason: ['breaker_open', 'no_price'] }, 'reason', /expected one of "budget_exceeded"/],
    [{ taskId: 'task-1' }, 'taskId', /^Invalid UUID$/],
    [{ from: 'yesterday' }, 'from', /not an ISO 8601 date/],
    [{ from: '2026-12-02', to: '2026-12-01' }, 'to', /must be after from/],
    [{ cursor: 'nope!' }, 'cursor', /not a cursor this API returned/],
    [{ cursor: 'a'.repeat(201) }, 'cursor', /not a cursor this API returned/],
    [{ tenantId: 'Not_A_Slug' }, 'tenantId', /lowercase letters, digits or dashes/],
    [{ groupBy: 'model' }, '', /Unrecognized key/],
  ])('refuses %j on %s', (query, path, message) => {
    const found = issues(query);
    expect(new Set(found.map((i) => i.path))).toEqual(new Set([path]));
    expect(found[0]!.message).toMatch(message);
  });
});

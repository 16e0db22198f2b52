import { PreparedStatements, statementConfig } from './prepared-statements';

describe('PreparedStatements', () => {
  it('names a text the same way each time, and different texts differently', () => {
    const r = new PreparedStatements();
    const a = r.nameOf('SELECT $1::int');
    expect(a).toMatch(/^dlb_[0-9a-f]{24}$/);
    expect(r.nameOf('SELECT $1::int')).toBe(a);
    expect(r.nameOf('SELECT $1::text')).not.toBe(a);
  });

  it('names only the first `limit` distinct texts; later ones run unnamed, earlier ones keep their names', () => {
    const r = new PreparedStatements(2);
    const first = r.nameOf('a');
    expect(r.nameOf('b')).toBeDefined();
    expect(r.nameOf('c')).toBeUndefined();
    expect(r.nameOf('a')).toBe(first);
    expect(r.size).toBe(2);
  });

  it('names nothing with a limit of 0 (DATABASE_PREPARED_STATEMENTS=0, for a pooler that cannot keep them)', () => {
    const r = new PreparedStatements();
    r.setLimit(0);
    expect(r.nameOf('SELECT $1::int')).toBeUndefined();
    expect(statementConfig(r, 'SELECT $1::int', [1])).not.toHaveProperty('name');
  });

  it('unprepares a text whose plan went stale, for good, and only on that error', () => {
    const r = new PreparedStatements();
    r.nameOf('SELECT * FROM t WHERE id = $1');
    expect(
      r.unprepareIfStale('SELECT * FROM t WHERE id = $1', { code: '23505', message: 'duplicate key' }),
    ).toBe(false);
    expect(r.unprepareIfStale('SELECT * FROM t WHERE id = $1', { code: '0A000', message: 'other' })).toBe(
      false,
    );
    const stale = { code: '0A000', message: 'cached plan must not change result type' };
    expect(r.unprepareIfStale('SELECT * FROM t WHERE id = $1', stale)).toBe(true);
    expect(r.nameOf('SELECT * FROM t WHERE id = $1')).toBeUndefined();
  });
});

describe('statementConfig', () => {
  it('names a statement with parameters', () => {
    const c = statementConfig(new PreparedStatements(), 'SELECT $1::int', [1]);
    expect(c).toEqual({ name: expect.stringMatching(/^dlb_/), text: 'SELECT $1::int', values: [1] });
  });

  it('sends a statement without parameters unnamed (it may be several statements) and keeps no place for it', () => {
    const r = new PreparedStatements(1);
    expect(statementConfig(r, 'SET LOCAL x = 1; SELECT 1', undefined)).toEqual({
      text: 'SET LOCAL x = 1; SELECT 1',
      values: undefined,
    });
    expect(statementConfig(r, 'SELECT 1', [])).not.toHaveProperty('name');
    expect(r.size).toBe(0);
  });
});

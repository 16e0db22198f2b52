import { isPermanentError, PermanentError } from './permanent-error';

// The shapes node-postgres and TypeORM give a failed query.
function pgError(code: string, message = `pg error ${code}`): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' });
}
function typeormError(code: string): Error {
  return Object.assign(new Error('QueryFailedError'), {
    name: 'QueryFailedError',
    driverError: pgError(code),
  });
}

describe('isPermanentError', () => {
  it('is true for a PermanentError', () => {
    expect(isPermanentError(new PermanentError('unknown tenant'))).toBe(true);
  });

  it.each([
    ['22P05', 'untranslatable character (a NUL in jsonb)'],
    ['22021', 'character not in repertoire (a NUL in text)'],
    ['22001', 'string data right truncation'],
    ['22003', 'numeric value out of range'],
    ['22007', 'invalid datetime format'],
    ['22008', 'datetime field overflow'],
    ['22P02', 'invalid text representation'],
    ['23514', 'check violation'],
    ['23502', 'not null violation'],
    ['54000', 'program limit exceeded'],
  ])('is true for Postgres %s (%s), bare or wrapped by TypeORM', (code) => {
    expect(isPermanentError(pgError(code))).toBe(true);
    expect(isPermanentError(typeormError(code))).toBe(true);
  });

  it.each([
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
    ['53300', 'too many connections'],
    ['57P01', 'admin shutdown'],
    ['08006', 'connection failure'],
    ['23505', 'unique violation: a concurrent insert may win, the retry sees the row'],
    ['23503', 'foreign key violation: the referenced row may be committed a moment later'],
  ])('is false for Postgres %s (%s), which a retry can get past', (code) => {
    expect(isPermanentError(pgError(code))).toBe(false);
    expect(isPermanentError(typeormError(code))).toBe(false);
  });

  it('is false for plain errors, network errors and non-errors', () => {
    expect(isPermanentError(new Error('boom'))).toBe(false);
    expect(isPermanentError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isPermanentError('22P05')).toBe(false);
    expect(isPermanentError(null)).toBe(false);
  });
});

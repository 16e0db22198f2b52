import { MAX_TRANSACTION_ATTEMPTS, retryOnConflict, Sql, SqlRowCountError, type SqlRow } from './sql';

class FixedRowsSql extends Sql {
  readonly asked: string[] = [];
  constructor(private readonly rows: SqlRow[]) {
    super();
  }
  query<T>(text: string): Promise<T[]> {
    this.asked.push(text);
    return Promise.resolve(this.rows as T[]);
  }
  execute(): Promise<number> {
    return Promise.resolve(this.rows.length);
  }
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return work(this);
  }
}

function pgError(code: string): Error {
  return Object.assign(new Error(`pg ${code}`), { code });
}

describe('Sql', () => {
  it('one answers the single row and refuses none or several', async () => {
    await expect(new FixedRowsSql([{ id: 1 }]).one('SELECT')).resolves.toEqual({ id: 1 });
    await expect(new FixedRowsSql([]).one('SELECT')).rejects.toThrow(SqlRowCountError);
    await expect(new FixedRowsSql([{ id: 1 }, { id: 2 }]).one('SELECT')).rejects.toThrow(
      'expected exactly one row, the statement returned 2 rows',
    );
  });

  it('maybe answers the row or undefined, and refuses several', async () => {
    await expect(new FixedRowsSql([{ id: 1 }]).maybe('SELECT')).resolves.toEqual({ id: 1 });
    await expect(new FixedRowsSql([]).maybe('SELECT')).resolves.toBeUndefined();
    await expect(new FixedRowsSql([{ id: 1 }, { id: 2 }]).maybe('SELECT')).rejects.toThrow(SqlRowCountError);
  });

  it('ping asks the database a trivial question', async () => {
    const sql = new FixedRowsSql([]);
    await sql.ping();
    expect(sql.asked).toEqual(['SELECT 1']);
  });
});

describe('retryOnConflict', () => {
  it('redoes the work after a deadlock or a serialization failure', async () => {
    const failures = [pgError('40P01'), pgError('40001')];
    let attempts = 0;
    const result = await retryOnConflict(() => {
      attempts += 1;
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : Promise.resolve('done');
    });
    expect(result).toBe('done');
    expect(attempts).toBe(3);
  });

  it('gives up after the last attempt with the conflict', async () => {
    let attempts = 0;
    await expect(
      retryOnConflict(() => {
        attempts += 1;
        return Promise.reject(pgError('40P01'));
      }),
    ).rejects.toThrow('pg 40P01');
    expect(attempts).toBe(MAX_TRANSACTION_ATTEMPTS);
  });

  it('does not redo work that failed for another reason', async () => {
    let attempts = 0;
    await expect(
      retryOnConflict(() => {
        attempts += 1;
        return Promise.reject(pgError('23505'));
      }),
    ).rejects.toThrow('pg 23505');
    expect(attempts).toBe(1);
  });
});

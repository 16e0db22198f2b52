import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DataSourceSql } from '../src/data-source-sql';
import { quoteIdent } from '../src/database-bootstrap';
import { openDataSource } from '../src/persistence.module';
import { PoolSql } from '../src/pool-sql';
import { preparedStatements, statementConfig } from '../src/prepared-statements';
import type { Sql } from '../src/sql';

// Both implementations of the port, over the real Postgres: the same statements give the same shape (the rows, for
// UPDATE and DELETE too), a transaction commits or rolls back as a whole, and a deadlock victim is redone.
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/deliberate';
const schema = `sql_port_${randomBytes(4).toString('hex')}`;

let dataSource: DataSource;
let pool: Pool;
const ports: [string, () => Sql][] = [
  ['DataSourceSql', () => new DataSourceSql(dataSource)],
  ['PoolSql', () => new PoolSql(pool)],
];

beforeAll(async () => {
  dataSource = await openDataSource({
    databaseUrl: DATABASE_URL,
    schema,
    entities: [],
    migrations: [],
    poolSize: 4,
  });
  pool = new Pool({ connectionString: DATABASE_URL, max: 4, options: `-c search_path=${schema}` });
});

afterAll(async () => {
  await pool.end();
  await dataSource.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
  await dataSource.destroy();
});

describe.each(ports)('%s', (name, port) => {
  const table = `counters_${name.toLowerCase()}`;
  let sql: Sql;

  beforeEach(async () => {
    sql = port();
    await sql.execute(`DROP TABLE IF EXISTS ${table}`);
    await sql.execute(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
  });

  it('answers every statement with its rows', async () => {
    expect(await sql.query(`INSERT INTO ${table} VALUES (1, 10), (2, 20) RETURNING id, n`)).toEqual([
      { id: 1, n: 10 },
      { id: 2, n: 20 },
    ]);
    expect(await sql.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1 RETURNING n`, [1])).toEqual([
      { n: 11 },
    ]);
    expect(await sql.query(`UPDATE ${table} SET n = 0 WHERE id = $1 RETURNING n`, [3])).toEqual([]);
    expect(await sql.query(`UPDATE ${table} SET n = n WHERE id = 1`)).toEqual([]);
    expect(await sql.query(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await sql.one<{ n: number }>(`SELECT n FROM ${table} WHERE id = $1`, [2])).toEqual({ n: 20 });
    expect(await sql.maybe(`SELECT n FROM ${table} WHERE id = $1`, [3])).toBeUndefined();
    expect(await sql.query(`DELETE FROM ${table} WHERE id = $1 RETURNING id`, [2])).toEqual([{ id: 2 }]);
  });

  it('counts the rows a statement touched', async () => {
    await sql.execute(`INSERT INTO ${table} VALUES (1, 0), (2, 0), (3, 0)`);
    expect(await sql.execute(`UPDATE ${table} SET n = 1 WHERE id < $1`, [3])).toBe(2);
    expect(await sql.execute(`DELETE FROM ${table} WHERE id = 9`)).toBe(0);
  });

  it('commits a transaction as a whole, or rolls it back as a whole', async () => {
    await sql.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${table} VALUES (1, 1)`);
      // A transaction inside a transaction joins it.
      await tx.transaction((inner) => inner.query(`INSERT INTO ${table} VALUES (2, 2)`));
    });
    await expect(
      sql.transaction(async (tx) => {
        await tx.query(`UPDATE ${table} SET n = 100`);
        await tx.query(`INSERT INTO ${table} VALUES (1, 1)`);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await sql.query(`SELECT id, n FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, n: 1 },
      { id: 2, n: 2 },
    ]);
  });

  it('runs a statement with parameters as a prepared statement of its connection, and one without unnamed', async () => {
    await sql.execute(`INSERT INTO ${table} VALUES (1, 5)`);
    const text = `SELECT n FROM ${table} WHERE id = $1`;
    const name = statementConfig(preparedStatements, text, [1]).name;
    expect(name).toBeDefined();
    // Both run on one connection (a transaction), so the second sees what the first prepared there.
    const prepared = await sql.transaction(async (tx) => {
      expect(await tx.query(text, [1])).toEqual([{ n: 5 }]);
      return tx.query<{ statement: string }>(
        `SELECT statement FROM pg_prepared_statements WHERE name = $1 AND NOT from_sql`,
        [name],
      );
    });
    expect(prepared).toEqual([{ statement: text }]);
    // Several statements in one text without parameters still run (the simple protocol; a prepared statement
    // would refuse them).
    await sql.execute(`UPDATE ${table} SET n = 6; UPDATE ${table} SET n = n + 1`);
    expect(await sql.query(text, [1])).toEqual([{ n: 7 }]);
  });

  it('runs a prepared statement again unnamed when a migration changed the shape of its result', async () => {
    await sql.execute(`INSERT INTO ${table} VALUES (1, 5)`);
    const text = `SELECT * FROM ${table} WHERE id = $1`;
    // The same connection prepares the statement, sees the table change, and runs it again.
    await sql.transaction(async (tx) => {
      expect(await tx.query(text, [1])).toEqual([{ id: 1, n: 5 }]);
    });
    await sql.execute(`ALTER TABLE ${table} ADD COLUMN note text NOT NULL DEFAULT 'x'`);
    // Outside a transaction: once more, unnamed, at once. Inside one: the transaction is redone.
    const results = await Promise.all([
      sql.query(text, [1]),
      sql.transaction((tx) => tx.query(text, [1])),
      sql.query(text, [1]),
    ]);
    for (const rows of results) expect(rows).toEqual([{ id: 1, n: 5, note: 'x' }]);
  });

  it('redoes the transaction Postgres aborts to break a deadlock', async () => {
    await sql.execute(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`);
    // Each transaction locks one row, waits until the other holds the other row, then asks for it: a deadlock on
    // the first attempt. The victim's second attempt no longer waits, so it goes through once the other commits.
    let attempts = 0;
    const locked: Promise<void>[] = [];
    const signal: (() => void)[] = [];
    for (let i = 0; i < 2; i += 1) locked.push(new Promise<void>((r) => signal.push(r)));
    const crossing = (first: number, second: number, index: number) =>
      sql.transaction(async (tx) => {
        attempts += 1;
        await tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [first]);
        signal[index]?.();
        await locked[1 - index];
        await tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [second]);
      });
    await Promise.all([crossing(1, 2, 0), crossing(2, 1, 1)]);
    expect(attempts).toBe(3);
    expect(await sql.query(`SELECT id, n FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 2 },
    ]);
  });
});

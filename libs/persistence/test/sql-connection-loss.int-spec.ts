import { dependencyOutage } from '@deliberate/retry';
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DataSourceSql } from '../src/data-source-sql';
import { quoteIdent } from '../src/database-bootstrap';
import { openDataSource } from '../src/persistence.module';
import { PoolSql } from '../src/pool-sql';
import type { Sql } from '../src/sql';

// A connection checked out for a transaction can be lost while no statement runs on it (Postgres restarting says
// 57P01 to every backend; a cut network closes the socket). The error then arrives as the client's 'error' event:
// unheard, it ended the process (PoolSql); heard by TypeORM, it released the runner, whose COMMIT then threw "Query
// runner already released", which the gateway answered 500 (DataSourceSql). Either way the transaction fails as an
// unreachable database, and the next caller gets a live connection.
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/deliberate';
const application = `sql_loss_${randomBytes(4).toString('hex')}`;
const schema = application;

let pool: Pool;
let dataSource: DataSource;
let admin: Client;

beforeAll(async () => {
  pool = new Pool({ connectionString: DATABASE_URL, max: 2, application_name: application });
  pool.on('error', () => undefined);
  dataSource = await openDataSource({
    databaseUrl: DATABASE_URL,
    schema,
    entities: [],
    migrations: [],
    poolSize: 2,
  });
  admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
});

afterAll(async () => {
  await pool.end();
  await dataSource.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
  await dataSource.destroy();
  await admin.end();
});

const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);
const ports: [string, () => Sql][] = [
  ['PoolSql', () => new PoolSql(pool)],
  ['DataSourceSql', () => new DataSourceSql(dataSource)],
];

describe.each(ports)('%s', (_name, port) => {
  it('fails a transaction whose connection is terminated between its statements, and serves again', async () => {
    const sql = port();
    const outcome = sql.transaction(async (tx) => {
      const { pid } = await tx.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The connection is idle in its transaction, as an advisory-lock holder is while its job runs elsewhere.
      await terminate(pid);
      await new Promise((r) => setTimeout(r, 300));
      return tx.one<{ one: number }>('SELECT 1 AS one');
    });
    const error = await outcome.then(
      () => null,
      (e: unknown) => e,
    );
    expect(dependencyOutage(error)?.dependency).toBe('postgres');
    expect(await sql.one<{ one: number }>('SELECT 1 AS one')).toEqual({ one: 1 });
    expect(await sql.transaction((tx) => tx.one<{ two: number }>('SELECT 2 AS two'))).toEqual({ two: 2 });
  });

  it('fails the commit of a transaction whose connection is lost after its last statement as an outage', async () => {
    const sql = port();
    const error = await sql
      .transaction(async (tx) => {
        const { pid } = await tx.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await terminate(pid);
        await new Promise((r) => setTimeout(r, 300));
        return pid;
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(dependencyOutage(error)).toEqual({ dependency: 'postgres', detail: expect.any(String) });
    expect(await sql.transaction((tx) => tx.one<{ two: number }>('SELECT 2 AS two'))).toEqual({ two: 2 });
  });

  it('does not hand a connection lost inside a transaction to the next caller', async () => {
    const sql = port();
    await expect(
      sql.transaction(async (tx) => {
        const { pid } = await tx.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await terminate(pid);
        await new Promise((r) => setTimeout(r, 300));
        throw new Error('the work gave up');
      }),
    ).rejects.toThrow('the work gave up');
    const answers = await Promise.all([0, 1].map(() => sql.transaction((tx) => tx.one('SELECT 1 AS one'))));
    expect(answers).toHaveLength(2);
  });
});

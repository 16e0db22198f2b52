import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { PoolSql } from '../src/pool-sql';

// A connection PoolSql has checked out for a transaction can be lost while no statement runs on it (Postgres
// restarting says 57P01 to every backend; a cut network closes the socket). The error then arrives as the client's
// 'error' event, which nobody listened to while the client was out of the pool: the process died on it.
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/deliberate';
const application = `pool_sql_loss_${randomBytes(4).toString('hex')}`;

let pool: Pool;
let admin: Client;

beforeAll(async () => {
  pool = new Pool({ connectionString: DATABASE_URL, max: 2, application_name: application });
  pool.on('error', () => undefined);
  admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
});

afterAll(async () => {
  await pool.end();
  await admin.end();
});

const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);

it('fails a transaction whose connection is terminated between its statements, and the pool serves again', async () => {
  const sql = new PoolSql(pool);
  const outcome = sql.transaction(async (tx) => {
    const { pid } = await tx.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // The connection is idle in its transaction, as an advisory-lock holder is while its job runs elsewhere.
    await terminate(pid);
    await new Promise((r) => setTimeout(r, 300));
    return tx.one<{ one: number }>('SELECT 1 AS one');
  });
  await expect(outcome).rejects.toThrow();
  expect(await sql.one<{ one: number }>('SELECT 1 AS one')).toEqual({ one: 1 });
  expect(await sql.transaction((tx) => tx.one<{ two: number }>('SELECT 2 AS two'))).toEqual({ two: 2 });
});

it('does not hand a connection lost inside a transaction to the next caller', async () => {
  const sql = new PoolSql(pool);
  await expect(
    sql.transaction(async (tx) => {
      const { pid } = await tx.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await terminate(pid);
      await new Promise((r) => setTimeout(r, 300));
      throw new Error('the work gave up');
    }),
  ).rejects.toThrow('the work gave up');
  const pids = await Promise.all([0, 1].map(() => sql.transaction((tx) => tx.one('SELECT 1 AS one'))));
  expect(pids).toHaveLength(2);
});

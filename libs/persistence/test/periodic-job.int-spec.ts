import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { advisoryLock, PeriodicJob, type RunOutcome } from '../src/periodic-job';
import { PoolSql } from '../src/pool-sql';
import { Sql, type SqlRow } from '../src/sql';

// Two replicas of one single-runner job, each with a pool of its own, on the real Postgres: while one runs, the
// other's runs are skipped; once it is done (or its process is gone), the other takes the job over.

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const pools: Pool[] = [];

// The dying replica's Sql: one client, whose transaction is never ended by the replica itself.
class ClientSql extends Sql {
  constructor(private readonly client: Client) {
    super();
  }

  async query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.client.query(text, params ? [...params] : undefined)).rows as T[];
  }

  async execute(text: string, params?: readonly unknown[]): Promise<number> {
    return (await this.client.query(text, params ? [...params] : undefined)).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    await this.client.query('BEGIN');
    return work(this);
  }
}
const quiet = { warn: () => undefined };

function replica(jobName: string, work: () => Promise<void>): { job: PeriodicJob; pool: Pool } {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
  pools.push(pool);
  const job = new PeriodicJob(
    { name: jobName, intervalMs: 60_000, lock: advisoryLock(jobName, new PoolSql(pool)), logger: quiet },
    work,
  );
  return { job, pool };
}

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

it('runs a single-runner job on one replica at a time', async () => {
  const name = `test-sweep-${randomBytes(4).toString('hex')}`;
  const gate = deferred();
  const entered = deferred();
  const ran: string[] = [];
  const a = replica(name, async () => {
    ran.push('a');
    entered.resolve();
    await gate.promise;
  });
  const b = replica(name, () => Promise.resolve(void ran.push('b')));

  const first = a.job.trigger();
  try {
    await entered.promise;
    await expect(b.job.trigger()).resolves.toBe<RunOutcome>('skipped');
  } finally {
    gate.resolve(); // a failed expectation must not leave a connection checked out
  }
  await expect(first).resolves.toBe<RunOutcome>('ran');
  await expect(b.job.trigger()).resolves.toBe<RunOutcome>('ran');
  expect(ran).toEqual(['a', 'b']);
  // The lock went with the run: no connection is left holding it.
  expect(a.pool.idleCount + b.pool.idleCount).toBe(a.pool.totalCount + b.pool.totalCount);
});

it('does not hold back jobs of other names', async () => {
  const tag = randomBytes(4).toString('hex');
  const gate = deferred();
  const entered = deferred();
  const a = replica(`test-one-${tag}`, async () => {
    entered.resolve();
    await gate.promise;
  });
  const b = replica(`test-two-${tag}`, () => Promise.resolve());
  const first = a.job.trigger();
  try {
    await entered.promise;
    await expect(b.job.trigger()).resolves.toBe<RunOutcome>('ran');
  } finally {
    gate.resolve();
  }
  await first;
});

it('frees the lock when the replica holding it dies mid-run', async () => {
  const name = `test-sweep-${randomBytes(4).toString('hex')}`;
  const entered = deferred();
  // The dying replica's connection is a client of its own, so the test can cut it as a crash would.
  const client = new Client({ connectionString: DATABASE_URL });
  client.on('error', () => undefined);
  await client.connect();
  const dying = new PeriodicJob(
    {
      name,
      intervalMs: 60_000,
      lock: advisoryLock(name, new ClientSql(client)),
      logger: quiet,
    },
    async () => {
      entered.resolve();
      await new Promise<void>(() => undefined); // never ends: the process dies first
    },
  );
  const b = replica(name, () => Promise.resolve());
  void dying.trigger();
  try {
    await entered.promise;
    await expect(b.job.trigger()).resolves.toBe<RunOutcome>('skipped');
    const holder = await b.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
        AND classid = hashtext('deliberate.periodic-job')::oid AND objid = hashtext($1)::oid`,
      [name],
    );
    expect(holder.rows).toHaveLength(1);
    await b.pool.query('SELECT pg_terminate_backend($1, 10000)', [holder.rows[0]!.pid]);
    // Postgres ends the dead connection's transaction, and the lock with it.
    await expect(b.job.trigger()).resolves.toBe<RunOutcome>('ran');
  } finally {
    await client.end().catch(() => undefined);
  }
});

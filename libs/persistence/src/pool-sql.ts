import type { Pool, PoolClient, QueryResult } from 'pg';
import { retryOnConflict, Sql, type SqlRow } from './sql';

// For a connection that is not the service's DataSource (the audit writer role logs in on a pool of its own).

type Queryable = Pick<PoolClient, 'query'>;

async function run(on: Queryable, text: string, params?: readonly unknown[]): Promise<QueryResult> {
  return on.query(text, params ? [...params] : undefined);
}

// A transaction in progress on one pooled client.
class ClientSql extends Sql {
  constructor(private readonly client: PoolClient) {
    super();
  }

  async query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return (await run(this.client, text, params)).rows as T[];
  }

  async execute(text: string, params?: readonly unknown[]): Promise<number> {
    return (await run(this.client, text, params)).rowCount ?? 0;
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return work(this);
  }
}

/** The Sql port over a pg Pool. The pool stays the caller's to end. */
export class PoolSql extends Sql {
  constructor(private readonly pool: Pool) {
    super();
  }

  async query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return (await run(this.pool, text, params)).rows as T[];
  }

  async execute(text: string, params?: readonly unknown[]): Promise<number> {
    return (await run(this.pool, text, params)).rowCount ?? 0;
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return retryOnConflict(async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(new ClientSql(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    });
  }
}

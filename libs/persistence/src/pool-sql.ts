import type { Pool, PoolClient } from 'pg';
import { preparedStatements } from './prepared-statements';
import { retryOnConflict, type Sql } from './sql';
import { runPrepared, StatementSql, type StatementResult } from './statement-sql';

// For a connection that is not the service's DataSource (the audit writer role logs in on a pool of its own).

// Statements on a pool, or on one client; on a client inside a transaction, `transaction` joins the one in progress.
class QueryableSql extends StatementSql {
  constructor(private readonly on: Pick<PoolClient, 'query'>) {
    super();
  }

  protected run(text: string, params: unknown[] | undefined): Promise<StatementResult> {
    return runPrepared(preparedStatements, this.on, text, params, this.inTransaction);
  }

  protected get inTransaction(): boolean {
    return false;
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return work(this);
  }
}

// A transaction in progress on one client.
class TransactionSql extends QueryableSql {
  protected override get inTransaction(): boolean {
    return true;
  }
}

/** The Sql port over a pg Pool. The pool stays the caller's to end. */
export class PoolSql extends QueryableSql {
  constructor(private readonly pool: Pool) {
    super(pool);
  }

  override transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return retryOnConflict(async () => {
      const client = await this.pool.connect();
      // Out of the pool, the client has no 'error' listener of the pool's: a connection lost between statements
      // (Postgres restarting says 57P01 to every backend) would be an unhandled 'error' event and end the process.
      // Kept here, the loss fails the transaction's next statement, and the client is discarded, not pooled again.
      const connection: { lost: Error | null } = { lost: null };
      const onError = (e: Error) => {
        connection.lost = e;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work(new TransactionSql(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        if (!connection.lost) await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.removeListener('error', onError);
        // A later error of a discarded client has nothing left to fail.
        if (connection.lost) client.on('error', () => undefined);
        client.release(connection.lost ?? undefined);
      }
    });
  }
}

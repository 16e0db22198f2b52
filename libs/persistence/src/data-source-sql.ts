import type { PoolClient } from 'pg';
import { type DataSource, type QueryRunner, QueryRunnerAlreadyReleasedError } from 'typeorm';
import { preparedStatements } from './prepared-statements';
import { retryOnConflict, type Sql } from './sql';
import { runPrepared, StatementSql, type StatementResult } from './statement-sql';

// A statement goes straight to the runner's node-postgres connection, as a prepared statement where it can be
// (TypeORM's query() sends every statement unnamed); TypeORM still owns the connection and the transaction.
async function structured(
  runner: QueryRunner,
  text: string,
  params: unknown[] | undefined,
  inTransaction: boolean,
): Promise<StatementResult> {
  const client = (await runner.connect()) as PoolClient;
  return runPrepared(preparedStatements, client, text, params, inTransaction);
}

// A transaction in progress on one TypeORM connection.
class QueryRunnerSql extends StatementSql {
  constructor(private readonly runner: QueryRunner) {
    super();
  }

  protected run(text: string, params: unknown[] | undefined): Promise<StatementResult> {
    return structured(this.runner, text, params, true);
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return work(this);
  }
}

/** The Sql port over the DataSource that PersistenceModule opens: each statement on a pooled connection. */
export class DataSourceSql extends StatementSql {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  protected run(text: string, params: unknown[] | undefined): Promise<StatementResult> {
    return this.withRunner((runner) => structured(runner, text, params, false));
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return retryOnConflict(() =>
      this.withRunner(async (runner) => {
        await runner.startTransaction();
        try {
          const result = await work(new QueryRunnerSql(runner));
          await runner.commitTransaction();
          return result;
        } catch (e) {
          if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
          throw e;
        }
      }),
    );
  }

  // TypeORM releases a runner whose connection fails (a Postgres restart tells every backend 57P01), and the runner's
  // next statement (a COMMIT, say) then throws "Query runner already released", which reads as a bug. The runner is
  // only released here, in `finally`: such an error inside is the connection's loss, and the loss is thrown instead,
  // so the caller sees an unreachable database (a 503, a retry), not a 500.
  private async withRunner<T>(use: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    let lost: Error | null = null;
    const onError = (e: Error) => {
      lost ??= e;
    };
    let client: PoolClient | undefined;
    try {
      client = (await runner.connect()) as PoolClient;
      client.on('error', onError);
      return await use(runner);
    } catch (e) {
      if (e instanceof QueryRunnerAlreadyReleasedError) throw lost ?? new ConnectionLostError();
      throw e;
    } finally {
      client?.removeListener('error', onError);
      // A later error of the discarded client has nothing left to fail (and, unheard, would end the process).
      if (lost) client?.on('error', () => undefined);
      await runner.release();
    }
  }
}

/** SQLSTATE 08006 (connection failure): the connection under a transaction was lost, by an error not seen here. */
export class ConnectionLostError extends Error {
  readonly code = '08006';

  constructor() {
    super('Connection terminated: the database connection was lost during the transaction');
    this.name = 'ConnectionLostError';
  }
}

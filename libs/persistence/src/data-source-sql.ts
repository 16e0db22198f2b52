import type { PoolClient } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
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

  private async withRunner<T>(use: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return await use(runner);
    } finally {
      await runner.release();
    }
  }
}

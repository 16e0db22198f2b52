import type { DataSource, QueryRunner } from 'typeorm';
import { retryOnConflict, type Sql } from './sql';
import { StatementSql, type StatementResult } from './statement-sql';

// TypeORM answers UPDATE and DELETE with [rows, rowCount] and everything else with the rows; its structured
// result carries the rows and the count for every command, which is what the port hands out.
async function structured(
  runner: QueryRunner,
  text: string,
  params: unknown[] | undefined,
): Promise<StatementResult> {
  const result = await runner.query(text, params, true);
  return { rows: (result.records ?? []) as unknown[], count: result.affected ?? 0 };
}

// A transaction in progress on one TypeORM connection.
class QueryRunnerSql extends StatementSql {
  constructor(private readonly runner: QueryRunner) {
    super();
  }

  protected run(text: string, params: unknown[] | undefined): Promise<StatementResult> {
    return structured(this.runner, text, params);
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
    return this.withRunner((runner) => structured(runner, text, params));
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

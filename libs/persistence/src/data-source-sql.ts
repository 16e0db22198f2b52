import type { DataSource, QueryRunner } from 'typeorm';
import { retryOnConflict, Sql, type SqlRow } from './sql';

// TypeORM answers UPDATE and DELETE with [rows, rowCount] and everything else with the rows; its structured
// result carries the rows and the count for every command, which is what the port hands out.
async function structured(runner: QueryRunner, text: string, params?: readonly unknown[]) {
  return runner.query(text, params ? [...params] : undefined, true);
}

// A transaction in progress on one TypeORM connection.
class QueryRunnerSql extends Sql {
  constructor(private readonly runner: QueryRunner) {
    super();
  }

  async query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return ((await structured(this.runner, text, params)).records ?? []) as T[];
  }

  async execute(text: string, params?: readonly unknown[]): Promise<number> {
    return (await structured(this.runner, text, params)).affected ?? 0;
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return work(this);
  }
}

/** The Sql port over the DataSource that PersistenceModule opens: each statement on a pooled connection. */
export class DataSourceSql extends Sql {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return this.withRunner((runner) => new QueryRunnerSql(runner).query<T>(text, params));
  }

  async execute(text: string, params?: readonly unknown[]): Promise<number> {
    return this.withRunner((runner) => new QueryRunnerSql(runner).execute(text, params));
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

import type { PoolClient } from 'pg';
import { type PreparedStatements, statementConfig } from './prepared-statements';
import { Sql, type SqlRow } from './sql';

/** What a driver answers for one statement: its rows, and how many rows it touched. */
export interface StatementResult {
  rows: unknown[];
  count: number;
}

// The port over a driver that runs one statement at a time: each implementation says only how it runs a statement
// and what a transaction is. Not exported from the library: services and test fakes see `Sql` alone.
export abstract class StatementSql extends Sql {
  protected abstract run(text: string, params: unknown[] | undefined): Promise<StatementResult>;

  async query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.run(text, params ? [...params] : undefined)).rows as T[];
  }

  async execute(text: string, params?: readonly unknown[]): Promise<number> {
    return (await this.run(text, params ? [...params] : undefined)).count;
  }
}

/**
 * Runs one statement on a node-postgres client or pool, prepared under its name when the registry gives it one.
 * A prepared plan whose table changed shape since (a migration) fails once: outside a transaction the statement runs
 * again unnamed at once; inside one, the error stands and the transaction is redone (isRetryableSqlError).
 */
export async function runPrepared(
  registry: PreparedStatements,
  on: Pick<PoolClient, 'query'>,
  text: string,
  params: unknown[] | undefined,
  inTransaction: boolean,
): Promise<StatementResult> {
  try {
    const result = await on.query(statementConfig(registry, text, params));
    return { rows: result.rows, count: result.rowCount ?? 0 };
  } catch (e) {
    if (!registry.unprepareIfStale(text, e) || inTransaction) throw e;
    const result = await on.query({ text, values: params });
    return { rows: result.rows, count: result.rowCount ?? 0 };
  }
}

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

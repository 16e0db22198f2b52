// The one way a service reaches Postgres. Every statement answers with its rows (RETURNING rows for INSERT,
// UPDATE and DELETE), whichever driver runs it; `execute` answers with the number of rows it touched.

import { STALE_RESULT_TYPE } from './prepared-statements';

export type SqlRow = Record<string, unknown>;

/** Thrown by `one` and `maybe` when a statement returns more rows (or, for `one`, fewer) than the caller expects. */
export class SqlRowCountError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: number,
  ) {
    super(`expected ${expected}, the statement returned ${actual} rows`);
    this.name = 'SqlRowCountError';
  }
}

// An abstract class rather than an interface: it is also the Nest injection token (`constructor(sql: Sql)`).
// It has no private members, so a test fake may implement it structurally.
export abstract class Sql {
  /** The rows of the statement; [] when it returns none. */
  abstract query<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T[]>;

  /** The number of rows the statement inserted, updated, deleted or selected. */
  abstract execute(text: string, params?: readonly unknown[]): Promise<number>;

  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws, and redone from the start
   * when Postgres aborts it for a deadlock or a serialization conflict. Inside a transaction, `transaction` joins it.
   */
  abstract transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;

  /** Resolves when the database answers a trivial statement (for health checks). */
  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /** The single row of the statement; throws unless there is exactly one. */
  async one<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T> {
    const rows = await this.query<T>(text, params);
    if (rows.length !== 1) throw new SqlRowCountError('exactly one row', rows.length);
    return rows[0] as T;
  }

  /** The row of the statement, or undefined when there is none; throws when there are several. */
  async maybe<T = SqlRow>(text: string, params?: readonly unknown[]): Promise<T | undefined> {
    const rows = await this.query<T>(text, params);
    if (rows.length > 1) throw new SqlRowCountError('at most one row', rows.length);
    return rows[0];
  }
}

// Postgres aborts one side of a deadlock (40P01) or a serialization conflict (40001); the work is then safe to redo.
const RETRYABLE_CODES = new Set(['40001', '40P01']);
export const MAX_TRANSACTION_ATTEMPTS = 5;

export function isRetryableSqlError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // A prepared plan whose table changed shape (prepared-statements.ts): its text now runs unnamed, so a redo works.
  if (code === '0A000') return String((e as { message?: unknown }).message).includes(STALE_RESULT_TYPE);
  return RETRYABLE_CODES.has(code);
}

/** Redoes `attempt` (a whole transaction) while Postgres aborts it for a conflict, up to MAX_TRANSACTION_ATTEMPTS. */
export async function retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (e) {
      if (n >= MAX_TRANSACTION_ATTEMPTS || !isRetryableSqlError(e)) throw e;
      await new Promise((r) => setTimeout(r, 5 * n * (0.5 + Math.random())));
    }
  }
}

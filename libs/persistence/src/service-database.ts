import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** What repositories run their SQL on: the pool, or the connection of a transaction in progress. */
export interface Sql {
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

// Postgres aborts one side of a deadlock (40P01) or a serialization conflict (40001); the work is then safe to redo.
const RETRYABLE_CODES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

function isRetryable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

// A service's unit of work over its PersistenceModule data source. The transaction rolls back when `work` throws
// (which is also how the ledger's denial undoes the holds taken before it), and is redone on a deadlock.
@Injectable()
export class ServiceDatabase {
  constructor(private readonly dataSource: DataSource) {}

  get pool(): Sql {
    return this.dataSource;
  }

  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.dataSource.transaction((manager) => work(manager));
      } catch (e) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(e)) throw e;
        await new Promise((r) => setTimeout(r, 5 * attempt * (0.5 + Math.random())));
      }
    }
  }
}

/** Runs an UPDATE … RETURNING: TypeORM answers UPDATE and DELETE with [rows, rowCount], not the rows alone. */
export async function updateReturning<T>(sql: Sql, text: string, parameters: unknown[]): Promise<T[]> {
  const [rows] = await sql.query<[T[], number]>(text, parameters);
  return rows;
}

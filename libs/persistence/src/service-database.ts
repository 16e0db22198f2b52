import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { retryOnConflict } from './sql';

/**
 * @deprecated Use the `Sql` port. TypeORM's raw `query`: UPDATE and DELETE answer [rows, rowCount], the rest the rows.
 */
export interface LegacySql {
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

// A service's unit of work over its PersistenceModule data source. The transaction rolls back when `work` throws
// (which is also how the ledger's denial undoes the holds taken before it), and is redone on a deadlock.
/** @deprecated Inject the `Sql` port instead; kept until every service has moved onto it. */
@Injectable()
export class ServiceDatabase {
  constructor(private readonly dataSource: DataSource) {}

  get pool(): LegacySql {
    return this.dataSource;
  }

  async transaction<T>(work: (tx: LegacySql) => Promise<T>): Promise<T> {
    return retryOnConflict(() => this.dataSource.transaction((manager) => work(manager)));
  }
}

/** @deprecated The `Sql` port answers UPDATE … RETURNING with its rows. */
export async function updateReturning<T>(sql: LegacySql, text: string, parameters: unknown[]): Promise<T[]> {
  const [rows] = await sql.query<[T[], number]>(text, parameters);
  return rows;
}

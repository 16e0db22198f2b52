// Postgres for a benchmark: one-off connections and a fresh database of the run's own, dropped at its cleanup.
import pg from 'pg';
import { HOST, log, type BenchRun } from './run.ts';
import { errorMessage } from './stats.ts';

export const PG_BASE = `postgres://postgres@${HOST}:5432`;
export const PG_ADMIN_URL = `${PG_BASE}/postgres`;

export async function withPg<T>(
  url: string,
  fn: (c: pg.Client) => Promise<T>,
  applicationName?: string,
): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: applicationName });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  /** `SELECT version()`: "PostgreSQL 17.x on …". */
  version: string;
  /** `SHOW server_version`. */
  serverVersion: string;
}

/** Creates database `name`, dropped (WITH FORCE) when the run cleans up. */
export async function createDatabase(
  run: BenchRun,
  name: string,
  applicationName?: string,
): Promise<BenchDatabase> {
  const versions = await withPg(
    PG_ADMIN_URL,
    async (c) => {
      await c.query(`CREATE DATABASE "${name}"`);
      const v = await c.query<{ v: string }>('SELECT version() AS v');
      const s = await c.query<{ server_version: string }>('SHOW server_version');
      return { version: v.rows[0]?.v ?? 'unknown', serverVersion: s.rows[0]?.server_version ?? 'unknown' };
    },
    applicationName,
  );
  run.afterServicesStop(() =>
    withPg(PG_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`), applicationName)
      .then(() => log(`dropped database ${name}`))
      .catch((e: unknown) => log(`could not drop database ${name}: ${errorMessage(e)}`)),
  );
  return { name, url: `${PG_BASE}/${name}`, ...versions };
}

/** The first row of a query, or an error naming the query. */
export async function oneRow<R extends pg.QueryResultRow>(
  db: pg.Pool | pg.Client | pg.PoolClient,
  sql: string,
  params: unknown[] = [],
): Promise<R> {
  const { rows } = await db.query<R>(sql, params);
  const row = rows[0];
  if (!row) throw new Error(`no row from: ${sql.slice(0, 120)}`);
  return row;
}

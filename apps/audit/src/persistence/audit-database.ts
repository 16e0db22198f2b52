import { openDataSource, quoteIdent } from '@deliberate/persistence';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import type { AuditConfig } from '../config';
import { CreateAuditTables1795800000000 } from '../migrations/1795800000000-create-audit-tables';

export const AUDIT_SCHEMA = 'audit';

/** What repositories run SQL on: the pool, or the client of a transaction in progress. */
export interface Sql {
  query: PoolClient['query'];
}

// The owner (DATABASE_URL's user) migrates and grants; everything after runs as the writer role, which may
// only INSERT and SELECT records and checkpoints: even a bug in this service cannot rewrite history.
export async function prepareAuditSchema(config: AuditConfig): Promise<void> {
  const owner = await openDataSource({
    databaseUrl: config.DATABASE_URL,
    schema: AUDIT_SCHEMA,
    entities: [],
    migrations: [CreateAuditTables1795800000000],
    // One connection holds the migration lock while another runs the migrations.
    poolSize: 2,
  });
  const role = quoteIdent(config.AUDIT_DATABASE_ROLE);
  const runner = owner.createQueryRunner();
  await runner.connect();
  try {
    // Roles are cluster-wide and GRANTs of concurrent starts collide ("tuple concurrently updated"): one at a time.
    await runner.query(`SELECT pg_advisory_lock(hashtext('deliberate.audit.grants'))`);
    await runner.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${config.AUDIT_DATABASE_ROLE}') THEN
          CREATE ROLE ${role} LOGIN;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    if (config.AUDIT_DATABASE_PASSWORD) {
      // ALTER ROLE takes no parameters: quote the password as a literal.
      await runner.query(
        `ALTER ROLE ${role} PASSWORD '${config.AUDIT_DATABASE_PASSWORD.replace(/'/g, "''")}'`,
      );
    }
    await runner.query(`GRANT USAGE ON SCHEMA ${AUDIT_SCHEMA} TO ${role}`);
    await runner.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${AUDIT_SCHEMA} FROM ${role}`);
    await runner.query(
      `GRANT SELECT, INSERT ON ${AUDIT_SCHEMA}.records, ${AUDIT_SCHEMA}.checkpoints TO ${role}`,
    );
    await runner.query(`GRANT SELECT, INSERT, UPDATE ON ${AUDIT_SCHEMA}.chain_heads TO ${role}`);
    await runner.query(`GRANT SELECT ON ${AUDIT_SCHEMA}.settings TO ${role}`);
    await runner.query(
      `GRANT EXECUTE ON FUNCTION ${AUDIT_SCHEMA}.purge_expired(text, timestamptz) TO ${role}`,
    );
    // The database refuses a purge inside the configured retention, whatever the caller asks.
    await runner.query(`UPDATE ${AUDIT_SCHEMA}.settings SET retention_floor_days = $1`, [
      config.AUDIT_RETENTION_DAYS,
    ]);
  } finally {
    await runner
      .query(`SELECT pg_advisory_unlock(hashtext('deliberate.audit.grants'))`)
      .catch(() => undefined);
    await runner.release();
    await owner.destroy();
  }
}

export function writerUrl(config: AuditConfig): string {
  if (config.AUDIT_DATABASE_URL) return config.AUDIT_DATABASE_URL;
  const url = new URL(config.DATABASE_URL);
  url.username = config.AUDIT_DATABASE_ROLE;
  url.password = config.AUDIT_DATABASE_PASSWORD ? encodeURIComponent(config.AUDIT_DATABASE_PASSWORD) : '';
  return url.toString();
}

export class AuditDatabase implements OnApplicationShutdown {
  private readonly logger = new Logger('AuditDatabase');

  private constructor(readonly pool: Pool) {}

  static async open(config: AuditConfig): Promise<AuditDatabase> {
    await prepareAuditSchema(config);
    const pool = new Pool({
      connectionString: writerUrl(config),
      max: config.DATABASE_POOL_SIZE,
      application_name: 'deliberate-audit',
      options: `-c search_path=${AUDIT_SCHEMA}`,
    });
    pool.on('error', (e) =>
      new Logger('AuditDatabase').warn({ msg: 'idle connection error', error: e.message }),
    );
    const db = new AuditDatabase(pool);
    const [{ current_user: user }] = (await pool.query<{ current_user: string }>('SELECT current_user'))
      .rows as [{ current_user: string }];
    db.logger.log({ msg: 'connected', role: user });
    return db;
  }

  async transaction<T>(work: (tx: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

import {
  DataSourceSql,
  openDataSource,
  PoolSql,
  preparedStatements,
  type Sql,
} from '@deliberate/persistence';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import type { AuditConfig } from '../config';
import { CreateAuditTables1795800000000 } from '../migrations/1795800000000-create-audit-tables';
import { RestrictChainWrites1796500000000 } from '../migrations/1796500000000-restrict-chain-writes';
import { PartitionRecordsByTime1796800000000 } from '../migrations/1796800000000-partition-records-by-time';
import { partitionHorizon } from '../retention/partition-plan';
import { RecordPartitionRepository } from '../retention/record-partition.repository';
import { currentUser, grantWriterRole } from './writer-role.repository';

export const AUDIT_SCHEMA = 'audit';

/** The audit schema's migrations, in order. */
export const AUDIT_MIGRATIONS = [
  CreateAuditTables1795800000000,
  RestrictChainWrites1796500000000,
  PartitionRecordsByTime1796800000000,
];

// The owner (DATABASE_URL's user) migrates and grants; everything after runs as the writer role, which reads the
// tables and appends only through the owner's functions: even a bug in this service cannot rewrite history.
export async function prepareAuditSchema(config: AuditConfig): Promise<void> {
  const owner = await openDataSource({
    databaseUrl: config.DATABASE_URL,
    schema: AUDIT_SCHEMA,
    entities: [],
    migrations: AUDIT_MIGRATIONS,
    // One connection holds the migration lock while another runs the migrations.
    poolSize: 2,
  });
  try {
    await grantWriterRole(new DataSourceSql(owner), AUDIT_SCHEMA, {
      role: config.AUDIT_DATABASE_ROLE,
      password: config.AUDIT_DATABASE_PASSWORD,
      retentionDays: config.AUDIT_RETENTION_DAYS,
      partitionDays: config.AUDIT_PARTITION_DAYS,
    });
    await ensurePartitions(new DataSourceSql(owner), config);
  } finally {
    await owner.destroy();
  }
}

// The partitions ahead, before the first append. Not fatal: appends land in the default partition meanwhile, and
// the retention job creates them on its next run (a lock not granted in time, with other instances busy, is likely).
async function ensurePartitions(owner: Sql, config: AuditConfig): Promise<void> {
  const logger = new Logger('AuditDatabase');
  try {
    const created = await new RecordPartitionRepository().ensure(
      owner,
      partitionHorizon(new Date(), config.AUDIT_PARTITION_DAYS),
    );
    if (created.length > 0) logger.log({ msg: 'record partitions created', partitions: created });
  } catch (e) {
    logger.warn({ msg: 'record partitions not created', error: (e as Error).message });
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

  /** The writer role's connections: what every repository of the service runs on. */
  readonly sql: Sql;
  /** The auditor API's reads: on the read database when one is configured, else on the writer's connections. */
  readonly reads: Sql;

  private constructor(
    private readonly pool: Pool,
    private readonly readPool: Pool | null,
  ) {
    this.sql = new PoolSql(pool);
    this.reads = readPool ? new PoolSql(readPool) : this.sql;
  }

  static async open(config: AuditConfig): Promise<AuditDatabase> {
    await prepareAuditSchema(config);
    preparedStatements.setLimit(config.DATABASE_PREPARED_STATEMENTS);
    const pool = new Pool({
      connectionString: writerUrl(config),
      max: config.DATABASE_POOL_SIZE,
      application_name: 'deliberate-audit',
      options: `-c search_path=${AUDIT_SCHEMA}`,
    });
    pool.on('error', (e) =>
      new Logger('AuditDatabase').warn({ msg: 'idle connection error', error: e.message }),
    );
    const readPool = config.AUDIT_READ_DATABASE_URL
      ? openReadPool(config.AUDIT_READ_DATABASE_URL, config)
      : null;
    const db = new AuditDatabase(pool, readPool);
    db.logger.log({
      msg: 'connected',
      role: await currentUser(db.sql),
      reads: readPool ? 'AUDIT_READ_DATABASE_URL' : 'the writer connections',
    });
    return db;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.pool.end(), this.readPool?.end()]);
  }
}

// A replica refuses writes anyway; on a primary, read-only transactions keep the read path from writing all the same.
// It is not connected to at start: the service ingests while the replica is down, and auditor reads answer 503.
function openReadPool(url: string, config: AuditConfig): Pool {
  const pool = new Pool({
    connectionString: url,
    max: config.DATABASE_POOL_SIZE,
    application_name: 'deliberate-audit-read',
    options: `-c search_path=${AUDIT_SCHEMA} -c default_transaction_read_only=on`,
  });
  pool.on('error', (e) =>
    new Logger('AuditDatabase').warn({ msg: 'idle read connection error', error: e.message }),
  );
  return pool;
}

import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource, type EntitySchema, type MixedList } from 'typeorm';
import { DataSourceSql } from './data-source-sql';
import { preparedStatements } from './prepared-statements';
import { ensureDatabase, ensureSchema } from './database-bootstrap';
import { Sql } from './sql';

export interface PersistenceOptions {
  databaseUrl: string;
  /** Each service owns one schema; no service reads another's tables. */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  poolSize: number;
  /** DATABASE_PREPARED_STATEMENTS: distinct texts run as prepared statements (default 256; 0: none). */
  preparedStatements?: number;
  /** Tests only: build tables from entities instead of migrations. */
  synchronize?: boolean;
}

const PERSISTENCE_OPTIONS = Symbol('PERSISTENCE_OPTIONS');

export async function openDataSource(options: PersistenceOptions): Promise<DataSource> {
  await ensureDatabase(options.databaseUrl);
  await ensureSchema(options.databaseUrl, options.schema);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.databaseUrl,
    schema: options.schema,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: options.synchronize ?? false,
    // Unqualified names in migrations and queries resolve to the service's own schema.
    extra: {
      max: options.poolSize,
      application_name: `deliberate-${options.schema}`,
      options: `-c search_path=${options.schema}`,
    },
  });
  await dataSource.initialize();
  // Replicas starting together must not run the same migrations at once: one runs them, the others wait.
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  let applied: { name: string }[];
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`deliberate.migrations.${options.schema}`]);
    applied = await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await lock
      .query('SELECT pg_advisory_unlock(hashtext($1))', [`deliberate.migrations.${options.schema}`])
      .catch(() => undefined);
    await lock.release();
  }
  if (applied.length) {
    new Logger('Persistence').log({
      msg: 'migrations applied',
      schema: options.schema,
      migrations: applied.map((m) => m.name),
    });
  }
  return dataSource;
}

@Injectable()
class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

// Provides the service's Sql port, with its database and schema created and its migrations run before anything else
// in the service starts. The DataSource under it is not exported: the port is the only way in.
@Global()
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceOptions): DynamicModule {
    return {
      module: PersistenceModule,
      providers: [
        { provide: PERSISTENCE_OPTIONS, useValue: options },
        { provide: DataSource, useFactory: () => openDataSource(options) },
        {
          provide: Sql,
          useFactory: (dataSource: DataSource) => {
            if (options.preparedStatements !== undefined)
              preparedStatements.setLimit(options.preparedStatements);
            return new DataSourceSql(dataSource);
          },
          inject: [DataSource],
        },
        DataSourceCloser,
      ],
      exports: [Sql],
    };
  }
}

import type { EventPublisher } from '@deliberate/kafka';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import { type CleanupStep, runEveryStep } from './cleanup';
import { listenOnFreePort, schemaPool, startTestPublisher } from './service-app';
import { createTestDatabase } from './test-database';
import { deleteTopicsWithPrefix, TEST_KAFKA_BROKERS, uniqueTopicPrefix } from './test-kafka';

// The harness every service suite starts from: a fresh database and topic prefix, the service's app (one or more
// instances) on a free port, a publisher on the suite's topics, SQL on the service's schema, and a teardown that
// runs every step even when one fails. Each service's own harness only says how to configure and create it.

/** What every service's configuration starts from in a suite. */
export interface SuiteEnv {
  DATABASE_URL: string;
  KAFKA_BROKERS: string;
  KAFKA_TOPIC_PREFIX: string;
}

export interface ServiceDefinition<C> {
  /** The service's Postgres schema, where `db` runs its queries. */
  schema: string;
  config(env: SuiteEnv): C;
  create(config: C): Promise<INestApplication>;
}

export interface ServiceUnderTest<C> {
  prefix: string;
  databaseUrl: string;
  config: C;
  /** The instances; the first listens at `url`. */
  apps: INestApplication[];
  url: string;
  /** SQL on the service's schema, to check what the API says against what is stored. */
  db: Pool;
  publisher: EventPublisher;
  topic(name: string): string;
  /** Runs `step` first at teardown (clients of the service close before it). */
  onClose(step: CleanupStep): void;
  close(): Promise<void>;
}

export async function startServiceUnderTest<C>(
  suite: string,
  service: ServiceDefinition<C>,
  options: {
    instances?: number;
    /** The publisher's service name (`<schema>-test`). */ publisherName?: string;
  } = {},
): Promise<ServiceUnderTest<C>> {
  const database = await createTestDatabase(suite);
  const prefix = uniqueTopicPrefix(suite);
  const apps: INestApplication[] = [];
  const first: CleanupStep[] = [];
  let publisher: EventPublisher | undefined;
  const db = schemaPool(database.url, service.schema);
  const close = () =>
    runEveryStep([
      ...first,
      () => publisher?.disconnect() ?? Promise.resolve(),
      ...apps.map((app) => () => app.close()),
      () => db.end(),
      () => database.drop(),
      () => deleteTopicsWithPrefix(prefix),
    ]);
  try {
    const config = service.config({
      DATABASE_URL: database.url,
      KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
    });
    // One after the other: the first start runs the migrations.
    for (let i = 0; i < (options.instances ?? 1); i += 1) apps.push(await service.create(config));
    const url = await listenOnFreePort(apps[0]!);
    publisher = await startTestPublisher(prefix, options.publisherName ?? `${service.schema}-test`);
    return {
      prefix,
      databaseUrl: database.url,
      config,
      apps,
      url,
      db,
      publisher,
      topic: (name) => `${prefix}${name}`,
      onClose: (step) => first.unshift(step),
      close,
    };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}

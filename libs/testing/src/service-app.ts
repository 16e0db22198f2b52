import { EventPublisher, KafkaClient } from '@deliberate/kafka';
import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { TEST_KAFKA_BROKERS } from './test-kafka';

// The pieces every service harness starts: the app on a free loopback port, a publisher on the suite's topics,
// and SQL on the service's schema to check what the API says against what is stored.

/** Listens on a free port of 127.0.0.1 and returns the app's base URL. */
export async function listenOnFreePort(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  return (await app.getUrl()).replace('[::1]', '127.0.0.1');
}

/** A connected publisher on the suite's topic prefix, as a producing service would publish. */
export async function startTestPublisher(
  prefix: string,
  serviceName: string,
  options: { createTopics?: boolean } = {},
): Promise<EventPublisher> {
  const publisher = new EventPublisher(testKafkaClient(prefix, serviceName, options));
  await publisher.connect();
  return publisher;
}

export function testKafkaClient(
  prefix: string,
  serviceName: string,
  options: { createTopics?: boolean } = {},
): KafkaClient {
  return new KafkaClient({
    serviceName,
    brokers: TEST_KAFKA_BROKERS,
    topicPrefix: prefix,
    createTopics: options.createTopics ?? false,
    replicationFactor: 1,
    handlerMaxAttempts: 1,
  });
}

/** A small pool whose queries run in `schema`. */
export function schemaPool(databaseUrl: string, schema: string, max = 3): Pool {
  const pool = new Pool({ connectionString: databaseUrl, options: `-c search_path=${schema}`, max });
  // Pool.end() resolves before its sockets close; the database drop then terminates them, which an idle client
  // reports as an error on its pool: expected at teardown, and a query's own errors still reject the query.
  pool.on('error', () => undefined);
  return pool;
}

jest.setTimeout(60_000);

import { DEFAULT_TENANT_POLICY, tenantPolicySchema, tenantPolicyUpdatedEvent } from '@deliberate/contracts';
import { EventPublisher, KafkaClient, KafkaModule, provisionTopics } from '@deliberate/kafka';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kafka, logLevel } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { TenantPolicyCacheNotReadyError, TenantPolicyCache } from '../src/tenant-policy.cache';
import { TenantPolicyModule } from '../src/tenant-policy.module';

// The cache against the real broker: it reads every policy set before it started before the service goes on, keeps
// the highest version per tenant, follows later changes, and the topic it reads is compacted.

// A client library may not depend on the testing library, so the suite isolates itself the same way by hand.
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const prefix = `test.tenant-policy.${randomBytes(3).toString('hex')}.`;
const TOPIC = `${prefix}${tenantPolicyUpdatedEvent.topic}`;

const kafka = new Kafka({ clientId: 'tenant-policy-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
let publisherClient: KafkaClient;
let publisher: EventPublisher;
const apps: INestApplicationContext[] = [];

const kafkaOptions = (serviceName: string) => ({
  serviceName,
  brokers: BROKERS,
  topicPrefix: prefix,
  createTopics: true,
  replicationFactor: 1,
  handlerMaxAttempts: 3,
  shutdownGraceMs: 500,
});

// A service as it would wire the cache: its own KafkaModule, then TenantPolicyModule.
async function startService(): Promise<TenantPolicyCache> {
  @Module({
    imports: [KafkaModule.forRoot({ ...kafkaOptions('policy-reader'), topics: [] }), TenantPolicyModule],
  })
  class ReaderModule {}
  const app = await NestFactory.createApplicationContext(ReaderModule, { logger: ['error'] });
  apps.push(app);
  return app.get(TenantPolicyCache);
}

const policy = (topK: number, reasoningMinLatencyBudgetMs = 10_000) =>
  tenantPolicySchema.parse({ context: { topK }, reasoningMinLatencyBudgetMs });

async function setPolicy(tenantId: string, version: number, topK: number): Promise<void> {
  await publisher.publish(tenantPolicyUpdatedEvent, {
    tenantId,
    data: { version, policy: policy(topK), updatedBy: 'platform-admin', updatedAt: new Date().toISOString() },
  });
}

async function pollUntil(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  await admin.connect();
  publisherClient = new KafkaClient(kafkaOptions('policy-writer'));
  // Created as every service creates it (compacted), so each test may run alone.
  await provisionTopics(publisherClient, [tenantPolicyUpdatedEvent]);
  publisher = new EventPublisher(publisherClient);
  await publisher.connect();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await publisher?.disconnect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

it('reads a compacted topic, and answers the default policy at version 0', async () => {
  const cache = await startService();
  expect(cache.isReady).toBe(true);
  expect(cache.policyOf('never-set')).toEqual(DEFAULT_TENANT_POLICY);
  expect(cache.versionOf('never-set')).toBe(0);

  const described = await admin.describeConfigs({
    resources: [{ type: 2 /* TOPIC */, name: TOPIC, configNames: ['cleanup.policy'] }],
    includeSynonyms: false,
  });
  expect(described.resources[0]!.configEntries).toEqual([
    expect.objectContaining({ configName: 'cleanup.policy', configValue: 'compact' }),
  ]);
});

it('a cache started after v1 and v2 were set has read v2 by the time the service starts', async () => {
  for (let v = 1; v <= 2; v += 1) await setPolicy('acme', v, v);
  // Many other tenants' policies ahead of it on the topic: the cache has read them all, not only the first batch.
  await Promise.all(Array.from({ length: 200 }, (_, i) => setPolicy(`filler-${i}`, 1, 1)));
  await setPolicy('zeta', 1, 4);

  const cache = await startService();

  expect(cache.current('acme')).toEqual({ version: 2, policy: policy(2) });
  expect(cache.versionOf('zeta')).toBe(1);
  expect(cache.versionOf('filler-199')).toBe(1);
});

it('ignores an older version arriving after a newer one, live and when replayed by a new cache', async () => {
  const running = await startService();
  await setPolicy('globex', 3, 3);
  await pollUntil(() => running.versionOf('globex') === 3);
  await setPolicy('globex', 1, 1);
  // A marker on the same partition (same key) after the stale one: once it is read, so was the stale one.
  await setPolicy('globex', 3, 3);
  await setPolicy('globex-marker', 1, 1);
  await pollUntil(() => running.versionOf('globex-marker') === 1);
  expect(running.current('globex')).toEqual({ version: 3, policy: policy(3) });

  const restarted = await startService();
  expect(restarted.current('globex')).toEqual({ version: 3, policy: policy(3) });
});

it('catches up when the last message of every partition is one it cannot decode (dead-lettered)', async () => {
  await setPolicy('initech', 2, 6);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    messages: [0, 1, 2].map((partition) => ({ partition, key: 'garbage', value: 'not an event' })),
  });
  await producer.disconnect();

  const cache = await startService();

  expect(cache.current('initech')).toEqual({ version: 2, policy: policy(6) });
});

it('refuses to answer before it has caught up, rather than answer the default policy', () => {
  // Constructed by hand, never started: what a service would read before TenantPolicyModule's init finished.
  const cache = new TenantPolicyCache({ client: publisherClient } as never);
  expect(cache.isReady).toBe(false);
  expect(() => cache.policyOf('acme')).toThrow(TenantPolicyCacheNotReadyError);
});

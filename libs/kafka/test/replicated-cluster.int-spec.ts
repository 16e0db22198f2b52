import { kafkaConfigSchema, kafkaSecurityCheck, loadConfig } from '@deliberate/config';
import { deadLetterTopic, taskCancelRequestedEvent, uuidv7 } from '@deliberate/contracts';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Admin, ConfigResourceTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { EventConsumer, handle } from '../src/event-consumer';
import { EventPublisher } from '../src/event-publisher';
import { KafkaClient } from '../src/kafka-client';
import { kafkaOptionsFromConfig } from '../src/kafka.options';
import { provisionTopics } from '../src/topic-provisioner';

// Replication on three real KRaft nodes (deploy/local/kafka.sh --cluster), started here in a directory and on ports of
// the suite's own, and removed after: an acks=all publish survives a crashed node with nothing lost or written twice, is
// refused once two nodes are down, and goes through again when they are back.

const exec = promisify(execFile);
const kafkaScript = join(__dirname, '../../../deploy/local/kafka.sh');
const stateDir = mkdtempSync(join(tmpdir(), 'kafka-cluster-test-'));
const prefix = `test.replicated.${randomBytes(3).toString('hex')}.`;
let clusterEnv: NodeJS.ProcessEnv;
let brokers: string[];

async function cluster(...args: string[]): Promise<void> {
  await exec('bash', [kafkaScript, '--cluster', ...args], { env: clusterEnv, timeout: 180_000 });
}

// Six ports free at this moment: three brokers, three controllers.
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

// Polls until the probe gives a value; a probe that throws (a broker still unreachable) is asked again.
async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let client: KafkaClient;
let publisher: EventPublisher;
let admin: Admin;
const consumers: EventConsumer[] = [];
const topic = () => client.topic(taskCancelRequestedEvent.topic);
// The ids whose publish was acknowledged, in order.
const acknowledged: string[] = [];

// Starts a consumer of the test topic that counts deliveries by event id.
async function startConsumer(group: string): Promise<Map<string, number>> {
  const received = new Map<string, number>();
  const consumer = new EventConsumer(client, publisher, {
    group,
    handlers: [
      handle(taskCancelRequestedEvent, (envelope) => {
        received.set(envelope.id, (received.get(envelope.id) ?? 0) + 1);
        return Promise.resolve();
      }),
    ],
  });
  consumers.push(consumer);
  await consumer.start();
  return received;
}

async function publishCancel(taskId: string, id?: string): Promise<string> {
  const envelope = await publisher.publish(taskCancelRequestedEvent, {
    tenantId: 'tenant-replicated',
    taskId,
    id,
    data: { requestedBy: 'replicated-test', reason: null, requestedAt: new Date().toISOString() },
  });
  return envelope.id;
}

async function publishSome(count: number): Promise<void> {
  const ids = await Promise.all(Array.from({ length: count }, () => publishCancel(randomUUID())));
  acknowledged.push(...ids);
}

async function partitions() {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic()] });
  return topics[0]!.partitions;
}

const receivedAll = (received: Map<string, number>) => () =>
  acknowledged.every((id) => received.has(id)) ? true : undefined;

// Every offset of the topic committed by the group: nothing is left for it to (re)deliver.
async function allCommitted(group: string): Promise<void> {
  await until(async () => {
    const ends = await admin.fetchTopicOffsets(topic());
    const [committed] = await admin.fetchOffsets({ groupId: client.groupId(group), topics: [topic()] });
    const at = new Map(committed!.partitions.map((p) => [p.partition, p.offset]));
    return ends.every((e) => e.high === '0' || at.get(e.partition) === e.high) ? true : undefined;
  }, `${group} to commit every offset`);
}

beforeAll(async () => {
  const ports = await freePorts(6);
  brokers = ports.slice(0, 3).map((p) => `127.0.0.1:${p}`);
  clusterEnv = {
    ...process.env,
    KAFKA_CLUSTER_STATE_DIR: stateDir,
    KAFKA_CLUSTER_PORTS: ports.slice(0, 3).join(','),
    KAFKA_CLUSTER_CONTROLLER_PORTS: ports.slice(3).join(','),
  };
  await cluster('start');

  // Configured as a service pointed at the cluster is: from its KAFKA_* variables.
  const config = loadConfig('replicated-test', kafkaConfigSchema.check(kafkaSecurityCheck), {
    DELIBERATE_ENV: 'local',
    KAFKA_BROKERS: brokers.join(','),
    // No KAFKA_REPLICATION_FACTOR: the topics take the cluster's default of three.
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_HANDLER_MAX_ATTEMPTS: '3',
    KAFKA_SHUTDOWN_GRACE_MS: '500',
  });
  client = new KafkaClient(kafkaOptionsFromConfig('replicated-test', config));
  admin = new Kafka({ clientId: 'replicated-test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  publisher = new EventPublisher(client);
  await publisher.connect();
}, 240_000);

afterAll(async () => {
  try {
    for (const c of consumers) await c.stop().catch(() => undefined);
    await publisher?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  } finally {
    // Only the suite's own cluster: without its environment the script would address the default one.
    if (clusterEnv) await cluster('stop').catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}, 60_000);

describe('three replicated KRaft nodes', () => {
  let crashed = 0;
  const refused = { id: uuidv7(), taskId: randomUUID(), partition: -1, leader: -1, highWatermark: '' };

  it('creates topics with three replicas and min.insync.replicas 2', async () => {
    await provisionTopics(client, [taskCancelRequestedEvent]);

    const names = [topic(), client.topic(deadLetterTopic(taskCancelRequestedEvent.topic))];
    // Each broker learns of a new topic from the metadata log a moment after its creation: ask until it has.
    const { topics } = await until(
      () => admin.fetchTopicMetadata({ topics: names }),
      'the topics in the metadata',
    );
    for (const t of topics) {
      expect(t.partitions.length).toBeGreaterThan(0);
      for (const p of t.partitions) expect(p.replicas).toHaveLength(3);
    }
    const { resources } = await until(
      () =>
        admin.describeConfigs({
          includeSynonyms: false,
          resources: names.map((name) => ({
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: ['min.insync.replicas'],
          })),
        }),
      "the topics' configuration",
    );
    for (const r of resources) expect(r.configEntries).toMatchObject([{ configValue: '2' }]);
  });

  it('keeps publishing and delivering every message with one node crashed', async () => {
    const received = await startConsumer('replicated-test.through-crash');
    await publishSome(12);
    await until(receivedAll(received), 'the first 12 messages');

    crashed = (await partitions())[0]!.leader;
    await cluster('stop-node', String(crashed));
    // The controller fences the crashed node: its partitions get other leaders and it leaves every ISR.
    const moved = await until(async () => {
      const now = await partitions();
      return now.every((p) => p.leader >= 0 && p.leader !== crashed && !p.isr.includes(crashed))
        ? now
        : undefined;
    }, `leadership to move off node ${crashed}`);
    expect(moved.every((p) => p.isr.length === 2)).toBe(true);

    await publishSome(12);
    // At least once: a consumer whose group coordinator crashed gets again what it had not committed yet.
    await until(receivedAll(received), 'all 24 messages');
    expect([...received.keys()].sort()).toEqual([...acknowledged].sort());
  });

  it('refuses a publish once two nodes are down, rather than acknowledge what one node holds', async () => {
    // Stopped before the second crash, which takes the group coordinator's quorum with it.
    await consumers[0]!.stop();

    // A message for a partition led by the node about to crash, placed as the publisher's partitioner places it.
    const now = await partitions();
    refused.partition = Partitioners.DefaultPartitioner()({
      topic: topic(),
      partitionMetadata: now,
      message: { key: refused.taskId, value: null },
    });
    refused.leader = now.find((p) => p.partitionId === refused.partition)!.leader;
    refused.highWatermark = (await admin.fetchTopicOffsets(topic())).find(
      (o) => o.partition === refused.partition,
    )!.high;

    await cluster('stop-node', String(refused.leader));
    // Its leader is gone and, the controller quorum being lost with it, none can be elected: the publisher gives up
    // after its retries. (A partition the survivor leads would not acknowledge either: its ISR still names a dead
    // node, so an acks=all write waits out its timeout.)
    await expect(publishCancel(refused.taskId, refused.id)).rejects.toMatchObject({
      name: 'KafkaJSNumberOfRetriesExceeded',
    });
  });

  it('takes the refused message once both nodes are back, and has lost nothing acknowledged', async () => {
    await Promise.all([
      cluster('start-node', String(crashed)),
      cluster('start-node', String(refused.leader)),
    ]);
    await until(
      async () => ((await partitions()).every((p) => p.isr.length === 3) ? true : undefined),
      'every replica back in sync',
    );
    // Nothing of the refused publish is in the log.
    const offsets = await admin.fetchTopicOffsets(topic());
    expect(offsets.find((o) => o.partition === refused.partition)!.high).toBe(refused.highWatermark);

    await publishCancel(refused.taskId, refused.id);
    acknowledged.push(refused.id);

    // A new group reads the whole log: every acknowledged message, each exactly once.
    const received = await startConsumer('replicated-test.after-recovery');
    await until(receivedAll(received), 'every acknowledged message');
    await allCommitted('replicated-test.after-recovery');
    expect([...received.keys()].sort()).toEqual([...acknowledged].sort());
    expect([...received].filter(([, n]) => n !== 1)).toEqual([]);
  });
});

import { kafkaConfigSchema, kafkaSecurityCheck, loadConfig } from '@deliberate/config';
import { taskCancelRequestedEvent, taskCompletedEvent, taskSubmittedEvent } from '@deliberate/contracts';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { EventConsumer, handle } from '../src/event-consumer';
import { EventPublisher } from '../src/event-publisher';
import { KafkaClient } from '../src/kafka-client';
import { kafkaOptionsFromConfig } from '../src/kafka.options';
import { kafkaSecurityFromConfig } from '../src/kafka-security';
import { provisionTopics } from '../src/topic-provisioner';

// The clients against the local broker that authenticates (SCRAM-SHA-512) and authorizes (the ACLs of
// deploy/kafka/acls.sh), plaintext and over TLS: deploy/local/kafka.sh --sasl, started here when it is not running and
// stopped again after.
// The broker serves only the SASL suites, with the ACLs of an unprefixed stack, so topics carry no suite prefix; every
// assertion picks its own messages by a fresh task id.

const root = join(__dirname, '../../..');
const kafkaScript = join(root, 'deploy/local/kafka.sh');
const SASL_BROKER = `127.0.0.1:${process.env['KAFKA_SASL_PORT'] ?? '9094'}`;
// The same broker's SASL_SSL listener, which also requires a client certificate signed by its CA.
const SASL_TLS_BROKER = `127.0.0.1:${process.env['KAFKA_SASL_TLS_PORT'] ?? '9096'}`;
const tlsFile = (name: string) => join(root, '.local/kafka-sasl/tls', name);
const password = (principal: string) =>
  readFileSync(join(root, '.local/kafka-sasl/users', `${principal}.password`), 'utf8').trim();

// Every client here is configured as a service is: from KAFKA_* variables, through the validated config.
function clientConfig(env: Record<string, string>) {
  return loadConfig('sasl-test', kafkaConfigSchema.check(kafkaSecurityCheck), {
    DELIBERATE_ENV: 'local',
    KAFKA_BROKERS: SASL_BROKER,
    KAFKA_HANDLER_MAX_ATTEMPTS: '2',
    ...env,
  });
}
const scram = (principal: string, secret = password(principal)) =>
  clientConfig({
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: principal,
    KAFKA_SASL_PASSWORD: secret,
  });

// A bare kafkajs client, as an outside system would use. Refused connections are retriable for kafkajs: the
// clients expected to be refused fail at once instead of retrying for half a minute.
function rawKafka(config: ReturnType<typeof clientConfig>, retries = 0): Kafka {
  return new Kafka({
    clientId: 'sasl-test',
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    retry: { retries },
    ...kafkaSecurityFromConfig(config, (path) => readFileSync(path)),
  });
}

let startedBroker = false;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  try {
    execFileSync(kafkaScript, ['--sasl', 'status'], { stdio: 'ignore' });
  } catch {
    execFileSync(kafkaScript, ['--sasl', 'start'], { stdio: 'inherit', timeout: 540_000 });
    startedBroker = true;
  }
}, 600_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  if (startedBroker) execFileSync(kafkaScript, ['--sasl', 'stop'], { stdio: 'inherit' });
}, 120_000);

describe('Kafka over SASL/SCRAM with ACLs', () => {
  it('refuses a client without credentials', async () => {
    const admin = rawKafka(clientConfig({})).admin();
    // The listener takes nothing but a SASL handshake: the broker closes the connection.
    await expect(admin.connect().then(() => admin.listTopics())).rejects.toThrow(/Closed connection/);
    await admin.disconnect();
  });

  it('refuses a service with a wrong password', async () => {
    const admin = rawKafka(scram('gateway', 'not-the-password')).admin();
    await expect(admin.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
    await admin.disconnect();
  });

  it("carries an event from the gateway's producer to a consumer, each with its own SCRAM credentials", async () => {
    const gateway = new KafkaClient(kafkaOptionsFromConfig('gateway', scram('gateway')));
    await provisionTopics(gateway, [taskCancelRequestedEvent]);
    const gatewayPublisher = new EventPublisher(gateway);
    await gatewayPublisher.connect();
    cleanups.push(() => gatewayPublisher.disconnect());

    const reasoner = new KafkaClient(kafkaOptionsFromConfig('reasoner', scram('reasoner')));
    const reasonerPublisher = new EventPublisher(reasoner);
    await reasonerPublisher.connect();
    cleanups.push(() => reasonerPublisher.disconnect());
    const taskId = randomUUID();
    let resolveReceived!: (requestedBy: string) => void;
    const received = new Promise<string>((resolve) => (resolveReceived = resolve));
    const consumer = new EventConsumer(reasoner, reasonerPublisher, {
      // Within the reasoner's groups (deliberate.reasoner*), fresh for each run.
      group: `reasoner.sasl-test-${randomBytes(4).toString('hex')}`,
      handlers: [
        handle(taskCancelRequestedEvent, (envelope) => {
          if (envelope.taskId === taskId) resolveReceived(envelope.data.requestedBy);
          return Promise.resolve();
        }),
      ],
    });
    cleanups.push(() => consumer.stop());
    await consumer.start();

    await gatewayPublisher.publish(taskCancelRequestedEvent, {
      tenantId: 'tenant-sasl',
      taskId,
      data: { requestedBy: 'key-1', reason: null, requestedAt: new Date().toISOString() },
    });
    await expect(received).resolves.toBe('key-1');
  });

  it('lets an upstream producer write tasks.task.submitted.v1 and nothing else', async () => {
    // The gateway creates both topics, as it does at start-up.
    const gateway = new KafkaClient(kafkaOptionsFromConfig('gateway', scram('gateway')));
    await provisionTopics(gateway, [taskSubmittedEvent, taskCompletedEvent]);
    // Retries: the topic may be a moment old (its leader is not known everywhere yet).
    const producer = rawKafka(scram('upstream-producer'), 8).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const message = { key: randomUUID(), value: '{}' };

    await expect(producer.send({ topic: 'tasks.task.submitted.v1', messages: [message] })).resolves.toEqual([
      expect.objectContaining({ topicName: 'tasks.task.submitted.v1', errorCode: 0 }),
    ]);
    await expect(producer.send({ topic: 'tasks.task.completed.v1', messages: [message] })).rejects.toThrow(
      /Topic authorization failed/,
    );
  });

  it('keeps a service to its own topics and groups', async () => {
    const producer = rawKafka(scram('triage')).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await expect(
      producer.send({ topic: 'tasks.task.submitted.v1', messages: [{ key: randomUUID(), value: '{}' }] }),
    ).rejects.toThrow(/Topic authorization failed/);
  });
});

describe('Kafka over SASL_SSL', () => {
  const overTls = (env: Record<string, string>) => ({
    KAFKA_BROKERS: SASL_TLS_BROKER,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'gateway',
    KAFKA_SASL_PASSWORD: password('gateway'),
    KAFKA_TLS: 'true',
    ...env,
  });

  it('publishes through libs/kafka with the CA file and a client certificate', async () => {
    const gateway = new KafkaClient(
      kafkaOptionsFromConfig(
        'gateway',
        clientConfig(
          overTls({
            KAFKA_TLS_CA_FILE: tlsFile('ca.pem'),
            KAFKA_TLS_CERT_FILE: tlsFile('client.pem'),
            KAFKA_TLS_KEY_FILE: tlsFile('client.key'),
          }),
        ),
      ),
    );
    await provisionTopics(gateway, [taskCancelRequestedEvent]);
    const publisher = new EventPublisher(gateway);
    await publisher.connect();
    cleanups.push(() => publisher.disconnect());
    const envelope = await publisher.publish(taskCancelRequestedEvent, {
      tenantId: 'tenant-sasl',
      taskId: randomUUID(),
      data: { requestedBy: 'key-tls', reason: null, requestedAt: new Date().toISOString() },
    });
    expect(envelope.source).toBe('deliberate/gateway');
  });

  it('is refused without the client certificate the listener requires', async () => {
    const admin = rawKafka(clientConfig(overTls({ KAFKA_TLS_CA_FILE: tlsFile('ca.pem') }))).admin();
    await expect(admin.connect()).rejects.toThrow(/Connection error/);
    await admin.disconnect();
  });

  it("does not trust the broker's own CA unless told to (TLS on with the system CAs only)", async () => {
    const admin = rawKafka(
      clientConfig(
        overTls({ KAFKA_TLS_CERT_FILE: tlsFile('client.pem'), KAFKA_TLS_KEY_FILE: tlsFile('client.key') }),
      ),
    ).admin();
    await expect(admin.connect()).rejects.toThrow(/self-signed certificate/);
    await admin.disconnect();
  });
});

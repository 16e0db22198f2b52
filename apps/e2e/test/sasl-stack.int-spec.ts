import { taskSubmittedEvent, type TaskResponse } from '@deliberate/contracts';
import {
  ensureSaslBroker,
  pollUntil,
  SASL_KAFKA_BROKER,
  saslClientEnv,
  signedIntakeHeaders,
} from '@deliberate/testing';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { createTenant, http, startStack, type StackService, type TestStack } from './stack';

// The stack's Kafka traffic on the broker that authenticates and authorizes (deploy/local/kafka.sh --sasl): every
// service connects as its own SCRAM principal, held to the ACLs that deploy/kafka/acls.sh derives from the topic
// catalogue, and a task submitted over HTTP and one published by the upstream-producer principal both complete.
// The broker's ACLs are those of an unprefixed stack: the services run without a topic prefix, on a broker that
// serves only these suites, and every assertion picks its own task ids.

const SERVICES: readonly StackService[] = ['ledger', 'webhooks', 'audit', 'gateway', 'triage', 'reasoner'];

let stopBroker: () => void = () => undefined;
let stack: TestStack;
// A tenant of its own: the topics outlive the suite's database.
const tenantId = `acme-${randomUUID().slice(0, 8)}`;
let acme: Awaited<ReturnType<typeof createTenant>>;
let intakeSecret: string;
let upstream: Producer;

const terminal = (t: TaskResponse) => ['completed', 'failed', 'cancelled', 'needs_human'].includes(t.status);
const waitForTask = (id: string) =>
  pollUntil(
    async () => (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key: acme.submitter })).body,
    terminal,
    { timeoutMs: 60_000, what: `task ${id}` },
  );

beforeAll(async () => {
  stopBroker = ensureSaslBroker();
  stack = await startStack(
    'sasl',
    { KAFKA_TOPIC_PREFIX: '', KAFKA_BROKERS: SASL_KAFKA_BROKER },
    Object.fromEntries(SERVICES.map((s) => [s, saslClientEnv(s)])),
  );
  acme = await createTenant(stack, tenantId);
  const issued = await http<{ secret: string }>(
    stack,
    'POST',
    `/v1/admin/tenants/${tenantId}/intake-secrets`,
    { key: acme.admin },
  );
  if (issued.status !== 201)
    throw new Error(`intake secret: ${issued.status} ${JSON.stringify(issued.body)}`);
  intakeSecret = issued.body.secret;
  const env = saslClientEnv('upstream-producer');
  upstream = new Kafka({
    clientId: 'upstream-crm',
    brokers: [SASL_KAFKA_BROKER],
    sasl: {
      mechanism: 'scram-sha-512',
      username: env['KAFKA_SASL_USERNAME']!,
      password: env['KAFKA_SASL_PASSWORD']!,
    },
    logLevel: logLevel.NOTHING,
  }).producer({ allowAutoTopicCreation: false });
  await upstream.connect();
}, 600_000);

afterAll(async () => {
  await upstream?.disconnect();
  await stack?.close();
  stopBroker();
}, 120_000);

describe('the stack on an authenticated broker', () => {
  it('completes a task submitted over HTTP, every service on its own principal', async () => {
    const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      body: { input: 'What is the capital of France?', mode: 'fast' },
    });
    expect(res.status).toBe(202);
    expect(await waitForTask(res.body.id)).toMatchObject({ status: 'completed', submittedVia: 'http' });
  });

  it('answers a hard task with the reasoning model under a ledger hold: the reasoner and the ledger talk over Kafka', async () => {
    const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', {
      key: acme.submitter,
      body: {
        input: 'Prove step by step that the square root of 2 is irrational.',
        maxCostUsd: 1,
        maxThinkingTokens: 20_000,
        reasoningEffort: 'low',
      },
    });
    expect(res.status).toBe(202);
    expect(await waitForTask(res.body.id)).toMatchObject({
      status: 'completed',
      triage: { route: 'reasoning' },
      result: { answeredBy: 'reasoning_model', degraded: null },
    });
  });

  it('completes a signed task published by the upstream-producer principal', async () => {
    const taskId = randomUUID();
    const value = JSON.stringify({ input: 'What is 3 + 4?', mode: 'fast' });
    await upstream.send({
      topic: taskSubmittedEvent.topic,
      messages: [
        {
          key: taskId,
          headers: {
            ce_specversion: '1.0',
            ce_id: randomUUID(),
            ce_type: taskSubmittedEvent.topic,
            ce_source: 'urn:upstream:crm',
            ce_tenantid: tenantId,
            ce_taskid: taskId,
            'content-type': 'application/json',
            ...signedIntakeHeaders(intakeSecret, taskId, value),
          },
          value,
        },
      ],
    });
    expect(await waitForTask(taskId)).toMatchObject({ status: 'completed', submittedVia: 'kafka' });
  });
});

import { deadLetterTopic, taskCompletedEvent, taskSubmittedEvent } from '@deliberate/contracts';
import { header, hostileKafkaMessages, pollUntil, signedIntakeHeaders, testKafka } from '@deliberate/testing';
import fc from 'fast-check';
import type { KafkaMessage, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { type GatewayHarness, startGateway } from './gateway-harness';

// Hostile raw messages on the intake topic, signed with the tenant's intake secret so they get past the signature
// check: each is dead-lettered with a reason, and a valid submission queued behind them on the same partition is
// still admitted.

const ADMIN_KEY = 'intake-fuzz-platform-admin-0123456789';
const TENANT = 'acme';
const RUNS = 50;
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);

let h: GatewayHarness;
let prefix: string;
let producer: Producer;
let secret: string;

beforeAll(async () => {
  h = await startGateway('intake_fuzz', { adminKey: ADMIN_KEY });
  prefix = h.prefix;
  await h.createTenant(TENANT, [], TENANT);
  const issued = await h.call<{ secret: string }>('POST', `/v1/admin/tenants/${TENANT}/intake-secrets`, {
    key: ADMIN_KEY,
    body: {},
  });
  if (issued.status !== 201) throw new Error(`intake secret: ${issued.status} ${issued.text}`);
  secret = issued.body.secret;
  producer = testKafka().producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await h?.close();
});

it(`dead-letters ${RUNS} hostile submissions with a reason and still admits the valid one behind them (seed ${SEED})`, async () => {
  const taskId = randomUUID();
  const topic = `${prefix}${taskSubmittedEvent.topic}`;
  const samples = fc.sample(
    hostileKafkaMessages(
      {
        event: taskSubmittedEvent,
        data: { input: 'What is 2 + 2?', mode: 'fast' },
        textPath: ['input'],
        stringPath: ['mode'],
      },
      {
        tenantId: TENANT,
        taskId,
        foreignTypes: [taskCompletedEvent.topic],
        sign: (value) => signedIntakeHeaders(secret, taskId, value),
      },
    ),
    { numRuns: RUNS, seed: SEED },
  );
  const sent = new Map<string, string>();
  for (const hostile of samples) {
    const fuzzId = randomUUID();
    sent.set(fuzzId, hostile.kind);
    await producer.send({
      topic,
      messages: [{ key: taskId, value: hostile.value, headers: { ...hostile.headers, 'fuzz-id': fuzzId } }],
    });
  }
  const value = JSON.stringify({ input: 'What is 2 + 2?', mode: 'fast' });
  await producer.send({
    topic,
    messages: [
      {
        key: taskId,
        value,
        headers: {
          ce_specversion: '1.0',
          ce_id: randomUUID(),
          ce_type: taskSubmittedEvent.topic,
          ce_source: 'urn:test:upstream',
          ce_tenantid: TENANT,
          ce_taskid: taskId,
          'content-type': 'application/json',
          ...signedIntakeHeaders(secret, taskId, value),
        },
      },
    ],
  });

  // The valid submission behind them was admitted: the partition was never stuck.
  await pollUntil(
    async () => (await h.db.query(`SELECT id FROM gateway.tasks WHERE id = $1`, [taskId])).rowCount,
    (count) => count === 1,
    { timeoutMs: 30_000, what: `the valid submission admitted (seed ${SEED})` },
  );

  // Every hostile message is in the dead-letter topic, with a reason.
  const dlq = `${prefix}${deadLetterTopic(taskSubmittedEvent.topic)}`;
  const reader = testKafka().consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  const deadLetters = new Map<string, KafkaMessage>();
  await reader.connect();
  try {
    await reader.subscribe({ topic: dlq, fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        const fuzzId = header(message, 'fuzz-id');
        if (fuzzId) deadLetters.set(fuzzId, message);
        return Promise.resolve();
      },
    });
    await pollUntil(
      () => Promise.resolve(deadLetters.size),
      (n) => n >= sent.size,
      { timeoutMs: 30_000, what: `every hostile submission dead-lettered (seed ${SEED})` },
    ).catch(() => undefined);
  } finally {
    await reader.disconnect();
  }
  const missing = [...sent].filter(([id]) => !deadLetters.has(id)).map(([, kind]) => kind);
  expect(missing).toEqual([]);
  for (const [fuzzId, kind] of sent) {
    expect({ kind, reason: header(deadLetters.get(fuzzId)!, 'dlq_reason') }).toEqual({
      kind,
      reason: expect.stringMatching(/\S/),
    });
  }
});

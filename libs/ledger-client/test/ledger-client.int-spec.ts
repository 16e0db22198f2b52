jest.setTimeout(60_000);

import { ledgerCommandTopics, uuidv7 } from '@deliberate/contracts';
import { Kafka, logLevel } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { LedgerClient } from '../src/ledger-client';
import { LedgerRequestError, LedgerUnavailableError } from '../src/ledger-client.errors';

// The client's own promises, with no ledger answering: a reserve without an answer is a denial, never a throw;
// settle and release throw so their callers retry; the topics exist even though the ledger never started.

// A client library may not depend on the testing library, so the suite isolates itself the same way by hand.
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const prefix = `test.ledger-client.${randomBytes(3).toString('hex')}.`;

let client: LedgerClient;

beforeAll(async () => {
  client = new LedgerClient({
    brokers: BROKERS,
    clientId: 'client-test',
    topicPrefix: prefix,
    timeoutMs: 500,
  });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
});

it('creates the request and reply topics itself', async () => {
  const admin = new Kafka({
    clientId: 'client-test-admin',
    brokers: BROKERS,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const topics = new Set(await admin.listTopics());
    for (const t of ledgerCommandTopics(prefix)) expect(topics.has(t.topic)).toBe(true);
  } finally {
    await admin.disconnect();
  }
});

it('treats a reserve with no answer in time as denied: ledger_unavailable, not a throw', async () => {
  const started = Date.now();
  const reply = await client.reserve({
    tenantId: 'acme',
    taskId: randomUUID(),
    model: 'sim-fast',
    estimatedInputTokens: 1,
    maxOutputTokens: 1,
  });
  expect(reply).toEqual({
    approved: false,
    reason: 'ledger_unavailable',
    message: expect.stringContaining('did not answer'),
    policy: null,
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(450);
});

it('throws on a settle or release with no answer, for the caller to retry', async () => {
  await expect(
    client.settle({
      reservationId: randomUUID(),
      usageEventId: uuidv7(),
      model: 'sim-fast',
      usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, reasoningTokens: 0 },
    }),
  ).rejects.toBeInstanceOf(LedgerUnavailableError);
  await expect(client.release({ reservationId: randomUUID(), reason: 'test' })).rejects.toBeInstanceOf(
    LedgerUnavailableError,
  );
});

it('refuses an invalid request without sending it', async () => {
  expect(
    await client.reserve({
      tenantId: 'acme',
      taskId: 'x',
      model: 'm',
      estimatedInputTokens: 0,
      maxOutputTokens: 0,
    }),
  ).toMatchObject({ approved: false, reason: 'invalid_request', message: expect.stringContaining('taskId') });
  await expect(client.release({ reservationId: 'x', reason: 'test' })).rejects.toBeInstanceOf(
    LedgerRequestError,
  );
});

it('deletes a reply group of its process alone when it closes', async () => {
  const replyGroupId = `${prefix}deliberate.client-test.ledger-replies.${randomBytes(4).toString('hex')}`;
  const ephemeral = new LedgerClient({
    brokers: BROKERS,
    clientId: 'client-test',
    topicPrefix: prefix,
    timeoutMs: 500,
    replyGroupId,
    ephemeralReplyGroup: true,
  });
  const admin = new Kafka({
    clientId: 'client-test-admin',
    brokers: BROKERS,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  const groupIds = async () => (await admin.listGroups()).groups.map((g) => g.groupId);
  try {
    await ephemeral.connect();
    expect(await groupIds()).toContain(replyGroupId);
    await ephemeral.close();
    expect(await groupIds()).not.toContain(replyGroupId);
    // The shared reply group of the suite's other client stays.
    expect(await groupIds()).toContain(client.replyGroupId);
  } finally {
    await admin.disconnect();
  }
});

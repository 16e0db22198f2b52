jest.setTimeout(120_000);

import { taskAcceptedEvent, uuidv7 } from '@deliberate/contracts';
import { collectMessages, header, pollUntil, scrapeMetrics, testKafka } from '@deliberate/testing';
import { type AuditHarness, auditHttp, startAudit, storedCount } from './audit-harness';
import { publishTask } from './fixtures';

// The sink: every event stored once in its tenant's chain, whatever the redelivery; personal data redacted before
// it is hashed and stored; what cannot be read goes to the dead-letter topic with the reason.

let h: AuditHarness;

beforeAll(async () => {
  h = await startAudit('audit-sink');
});

afterAll(async () => {
  await h?.close();
});

it('stores each event of a task once, in seq order of its tenant chain', async () => {
  const { taskId, eventIds } = await publishTask(h, 'sink-a');
  await pollUntil(
    () => storedCount(h, 'sink-a'),
    (n) => n === eventIds.length,
    { what: 'five stored events' },
  );
  const { rows } = await h.db.query<{ seq: string; event_id: string; task_id: string }>(
    `SELECT seq, event_id, task_id FROM records WHERE tenant_id = 'sink-a' ORDER BY seq`,
  );
  expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
  expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(eventIds));
  expect(rows.every((r) => r.task_id === taskId)).toBe(true);
});

it('stores a replayed event once: the same id published twice, and the whole topic consumed again from offset 0', async () => {
  const id = uuidv7();
  const taskId = uuidv7();
  const spec = {
    input: 'replay me',
    context: [],
    mode: 'auto' as const,
    latencyBudgetMs: null,
    maxCostMicroUsd: null,
    webhookUrl: null,
    metadata: {},
  };
  for (let i = 0; i < 2; i += 1) {
    await h.publish(taskAcceptedEvent, {
      tenantId: 'sink-replay',
      taskId,
      id,
      data: { spec, submittedVia: 'kafka', acceptedAt: new Date().toISOString() },
    });
  }
  await publishTask(h, 'sink-replay');
  await pollUntil(
    () => storedCount(h, 'sink-replay'),
    (n) => n === 6,
    { what: 'six distinct events stored' },
  );

  // Stop the service, drop its consumer group's offsets (it then starts from offset 0 of every topic), start it.
  await h.restart(async () => {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.deleteGroups([h.sinkGroup]);
    } finally {
      await admin.disconnect();
    }
  });
  // A marker published after the rewind is stored once everything before it was consumed again.
  const marker = await publishTask(h, 'sink-replay');
  await pollUntil(
    () => storedCount(h, 'sink-replay'),
    (n) => n >= 11,
    { what: 'the marker task stored' },
  );
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await storedCount(h, 'sink-replay')).toBe(11);
  const { rows } = await h.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM records WHERE tenant_id = 'sink-replay' AND event_id = $1`,
    [id],
  );
  expect(Number(rows[0]!.n)).toBe(1);
  expect(marker.eventIds).toHaveLength(5);
  const verify = await auditHttp<{ ok: boolean; checked: number }>(
    h,
    '/v1/audit/verify?tenantId=sink-replay',
  );
  expect(verify.body).toMatchObject({ ok: true });
});

it('redacts personal data before storing it: the stored row and its hash hold only the redacted text', async () => {
  const { taskId } = await publishTask(h, 'sink-pii', {
    input: 'Customer jane.doe@example.com, card 4111 1111 1111 1111, SSN 123-45-6789, phone +44 20 7946 0958',
  });
  await pollUntil(
    () => storedCount(h, 'sink-pii'),
    (n) => n === 5,
    { what: 'stored events' },
  );
  const { rows } = await h.db.query<{ content: string; search: string | null }>(
    `SELECT content, search::text FROM records WHERE tenant_id = 'sink-pii' AND task_id = $1`,
    [taskId],
  );
  const stored = rows.map((r) => `${r.content} ${r.search ?? ''}`).join('\n');
  expect(stored).toContain('[redacted:email]');
  expect(stored).toContain('[redacted:card]');
  expect(stored).toContain('[redacted:ssn]');
  expect(stored).toContain('[redacted:phone]');
  for (const secret of ['jane.doe', 'example.com', '4111', '123-45-6789', '7946'])
    expect(stored).not.toContain(secret);
});

it('sends a malformed message to the topic dead-letter topic with the reason, and keeps consuming', async () => {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    await producer.send({
      topic: h.topic('tasks.task.completed.v1'),
      messages: [{ key: 'broken', value: 'this is not json' }],
    });
  } finally {
    await producer.disconnect();
  }
  const [dead] = await collectMessages(h.topic('tasks.task.completed.v1.dlq'), 1, {
    filter: (m) => header(m, 'dlq_consumer_group') === h.sinkGroup,
  });
  expect(header(dead!, 'dlq_reason')).toMatch(/not valid JSON/);
  expect(dead!.value?.toString()).toBe('this is not json');
  await publishTask(h, 'sink-after-dlq');
  await pollUntil(
    () => storedCount(h, 'sink-after-dlq'),
    (n) => n === 5,
    { what: 'events after the bad one' },
  );
});

it('measures each stored record once: appended, its ingest delay, and the chain length; a replayed event not at all', async () => {
  const tenantId = 'sink-metrics';
  const before = await scrapeMetrics(h.url);
  const consumed = (m: typeof before) =>
    m.value('messaging_client_consumed_messages_total', {
      messaging_consumer_group_name: 'audit.sink',
      outcome: 'handled',
    });
  const spec = {
    input: 'count me once',
    context: [],
    mode: 'auto' as const,
    latencyBudgetMs: null,
    maxCostMicroUsd: null,
    webhookUrl: null,
    metadata: {},
  };
  // One event published twice under its id, then a task of five.
  const id = uuidv7();
  for (let i = 0; i < 2; i += 1) {
    await h.publish(taskAcceptedEvent, {
      tenantId,
      taskId: uuidv7(),
      id,
      data: { spec, submittedVia: 'kafka', acceptedAt: new Date().toISOString() },
    });
  }
  await publishTask(h, tenantId);

  // Every copy consumed (seven messages) and six records stored.
  const after = await pollUntil(
    () => scrapeMetrics(h.url),
    (m) => consumed(m) - consumed(before) === 7,
    { what: 'seven messages consumed by the sink' },
  );
  expect(await storedCount(h, tenantId)).toBe(6);
  const moved = (name: string) => after.value(name) - before.value(name);
  expect(moved('deliberate_audit_records_appended_total')).toBe(6);
  expect(moved('deliberate_audit_ingest_delay_count')).toBe(6);
  expect(moved('deliberate_audit_ingest_delay_sum')).toBeGreaterThan(0);
  expect(after.value('deliberate_audit_ingest_delay_bucket', { le: '+Inf' })).toBe(
    after.value('deliberate_audit_ingest_delay_count'),
  );
  expect(moved('deliberate_audit_chain_length')).toBe(6);
  // No label names a tenant, an event or a task.
  for (const name of ['deliberate_audit_records_appended_total', 'deliberate_audit_chain_length'])
    for (const sample of after.find(name)) expect(sample.labels).toEqual({});
});

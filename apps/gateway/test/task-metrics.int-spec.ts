import { taskCompletedEvent, taskTriagedEvent, type TriageDecision } from '@deliberate/contracts';
import { pollUntil, type PrometheusScrape, scrapeMetrics, testKafka } from '@deliberate/testing';
import { type GatewayHarness, startGateway } from './gateway-harness';

// The read model's metrics on GET /metrics: an admission and each lifecycle move are counted once by the status the
// task moved to and its route, a redelivered or late event not again; the unfinished tasks are counted by status.

const ADMIN_KEY = 'task-metrics-admin-key-0123456789';
const CHANGES = 'deliberate_tasks_status_changes_total';
const UNFINISHED = 'deliberate_tasks_unfinished';

const FAST: TriageDecision = {
  route: 'fast',
  decidedBy: 'rule',
  rule: 'explicit-mode',
  classification: null,
  reason: "the client asked for mode 'fast'",
};

describe('task metrics of the gateway', () => {
  let h: GatewayHarness;
  let key: string;

  beforeAll(async () => {
    h = await startGateway('task_metrics', { adminKey: ADMIN_KEY });
    ({ submitter: key } = (await h.createTenant('acme', ['submitter'])) as { submitter: string });
  });

  afterAll(async () => {
    await h?.close();
  });

  const scrape = () => scrapeMetrics(h.url);
  const moved = (before: PrometheusScrape, after: PrometheusScrape, status: string, route: string) =>
    after.value(CHANGES, { status, route }) - before.value(CHANGES, { status, route });

  async function statusOf(taskId: string): Promise<string | undefined> {
    const res = await h.call<{ status?: string }>('GET', `/v1/tasks/${taskId}`, { key });
    return res.body.status;
  }

  /** Resolves once the projection group has committed past every event published so far on `topics`. */
  async function projected(topics: string[]): Promise<void> {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      for (const topic of topics.map((t) => h.topic(t))) {
        const ends = await admin.fetchTopicOffsets(topic);
        await pollUntil(
          async () =>
            (
              await admin.fetchOffsets({ groupId: h.topic('deliberate.gateway.projection'), topics: [topic] })
            )[0]!,
          (committed) =>
            ends.every(
              (end) =>
                Number(end.high) === Number(end.low) ||
                Number(committed.partitions.find((p) => p.partition === end.partition)?.offset ?? -1) >=
                  Number(end.high),
            ),
          { what: `the projection group past the end of ${topic}` },
        );
      }
    } finally {
      await admin.disconnect();
    }
  }

  it('counts an admission and each lifecycle move once, a redelivered or late event not again', async () => {
    const before = await scrape();
    const submitted = await h.call<{ id: string }>('POST', '/v1/tasks', {
      key,
      body: { input: 'What is 2 + 2?', mode: 'fast' },
    });
    expect(submitted.status).toBe(202);
    const taskId = submitted.body.id;

    const admitted = await scrape();
    expect(moved(before, admitted, 'accepted', 'none')).toBe(1);
    expect(admitted.value(UNFINISHED, { status: 'accepted' })).toBe(
      before.value(UNFINISHED, { status: 'accepted' }) + 1,
    );

    const address = { tenantId: 'acme', taskId };
    const triaged = { decision: FAST, triagedAt: new Date().toISOString() };
    await h.publisher.publish(taskTriagedEvent, { ...address, data: triaged });
    await pollUntil(
      () => statusOf(taskId),
      (s) => s === 'triaging',
      { what: 'the task triaging' },
    );
    const completed = {
      result: {
        answer: '4',
        answeredBy: 'fast_model' as const,
        model: 'sim-fast',
        usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 1, reasoningTokens: 0 },
        latencyMs: 5,
        degraded: null,
      },
      completedAt: new Date().toISOString(),
      review: null,
    };
    await h.publisher.publish(taskCompletedEvent, { ...address, data: completed });
    await pollUntil(
      () => statusOf(taskId),
      (s) => s === 'completed',
      { what: 'the task completed' },
    );
    // The hostile part: the completed event delivered again, and the triaged event arriving after the answer.
    await h.publisher.publish(taskCompletedEvent, { ...address, data: completed });
    await h.publisher.publish(taskTriagedEvent, { ...address, data: triaged });
    await projected([taskCompletedEvent.topic, taskTriagedEvent.topic]);

    const after = await scrape();
    expect(await statusOf(taskId)).toBe('completed');
    expect(moved(before, after, 'accepted', 'none')).toBe(1);
    expect(moved(before, after, 'triaging', 'fast')).toBe(1);
    expect(moved(before, after, 'completed', 'fast')).toBe(1);
    expect(after.value(CHANGES) - before.value(CHANGES)).toBe(3);
    // Finished: in no unfinished status any more; every unfinished status is reported, 0 or not.
    for (const status of ['accepted', 'triaging', 'queued_for_reasoning', 'reasoning', 'needs_human']) {
      expect(after.has(UNFINISHED, { status })).toBe(true);
      expect(after.value(UNFINISHED, { status })).toBe(before.value(UNFINISHED, { status }));
    }
    expect(after.has(UNFINISHED, { status: 'completed' })).toBe(false);
  });

  it('counts the unfinished tasks by status from the database, whichever replica admitted them', async () => {
    const before = await scrape();
    // Stored beside the API, as another replica's admissions would be: the gauge reads the table, not a tally.
    await h.db.query(
      `INSERT INTO tasks (id, tenant_id, status, status_rank, mode, spec, submitted_via, request_hash, metadata,
                          created_at, updated_at)
       SELECT gen_random_uuid(), 'acme', s.status, s.rank, 'auto', '{}'::jsonb, 'http', 'h', '{}'::jsonb, now(), now()
         FROM (VALUES ('reasoning', 3), ('reasoning', 3), ('needs_human', 4), ('completed', 10)) AS s (status, rank)`,
    );
    const after = await scrape();
    expect(after.value(UNFINISHED, { status: 'reasoning' })).toBe(
      before.value(UNFINISHED, { status: 'reasoning' }) + 2,
    );
    expect(after.value(UNFINISHED, { status: 'needs_human' })).toBe(
      before.value(UNFINISHED, { status: 'needs_human' }) + 1,
    );
    expect(after.value(UNFINISHED) - before.value(UNFINISHED)).toBe(3);
    // Rows written beside the read model are no status change of it.
    expect(after.value(CHANGES)).toBe(before.value(CHANGES));
  });
});

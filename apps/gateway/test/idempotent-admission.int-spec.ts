import { CE_HEADERS, taskAcceptedEvent, taskSubmissionSchema, uuidv7 } from '@deliberate/contracts';
import { TaskAdmissionService } from '@deliberate/gateway/tasks/task-admission.service';
import { header, type HttpResult, pollUntil, readTopic } from '@deliberate/testing';
import { type GatewayHarness, startGateway } from './gateway-harness';

// Concurrent submissions with one Idempotency-Key, spread over two replicas, make one task and one accepted event;
// every other answer repeats the first (Idempotent-Replayed) or says the first is still being admitted (409).

const ADMIN_KEY = 'idempotent-admission-admin-0123456789';

type Answer = HttpResult<{ id?: string; message?: string }>;

describe('idempotent admission', () => {
  let h: GatewayHarness;
  let key: string;

  beforeAll(async () => {
    h = await startGateway('idem_admission', { adminKey: ADMIN_KEY, instances: 2 });
    ({ submitter: key } = (await h.createTenant('acme', ['submitter'])) as { submitter: string });
  });

  afterAll(async () => {
    await h?.close();
  });

  const submit = (i: number, idempotencyKey: string, body: unknown): Promise<Answer> =>
    h.call('POST', '/v1/tasks', {
      url: h.urls[i % h.urls.length]!,
      key,
      body,
      headers: { 'idempotency-key': idempotencyKey },
    });

  /** The accepted events on the topic for `taskId`, once the outbox has published (and marked) every one of its rows. */
  async function acceptedEvents(taskId: string) {
    await pollUntil(
      async () =>
        (
          await h.db.query<{ pending: number }>(
            `SELECT count(*)::int AS pending FROM outbox WHERE task_id = $1 AND published_at IS NULL`,
            [taskId],
          )
        ).rows[0]!.pending,
      (pending) => pending === 0,
      { what: `the outbox rows of ${taskId} published` },
    );
    const messages = await pollUntil(
      () => readTopic(h.topic(taskAcceptedEvent.topic)),
      (all) => all.some((m) => header(m, CE_HEADERS.taskId) === taskId),
      { what: `the accepted event of ${taskId}` },
    );
    return messages.filter((m) => header(m, CE_HEADERS.taskId) === taskId);
  }

  async function storedTasks(idempotencyKey: string): Promise<{ id: string; input: string }[]> {
    const { rows } = await h.db.query<{ id: string; input: string }>(
      `SELECT id, spec->>'input' AS input FROM tasks WHERE tenant_id = 'acme' AND idempotency_key = $1`,
      [idempotencyKey],
    );
    return rows;
  }

  function expectInProgress(answer: Answer): void {
    expect(answer.body.message).toMatch(/request in progress/);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }

  it.each([8, 32])('makes one task and one accepted event of %i identical submissions at once', async (n) => {
    const idempotencyKey = `same-${n}-${uuidv7()}`;
    const body = { input: `Summarise report ${n}`, mode: 'fast' };
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => submit(i, idempotencyKey, body)));

    const accepted = answers.filter((a) => a.status === 202);
    for (const a of answers.filter((x) => x.status !== 202)) {
      expect(a.status).toBe(409);
      expectInProgress(a);
    }
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    const ids = new Set(accepted.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    // Exactly one answer created the task; every other 202 says it replays it.
    expect(accepted.filter((a) => a.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const a of accepted.filter((x) => x.headers.get('idempotent-replayed') !== null)) {
      expect(a.headers.get('idempotent-replayed')).toBe('true');
      expect(a.headers.get('location')).toBe(`/v1/tasks/${id}`);
    }
    expect(await storedTasks(idempotencyKey)).toEqual([{ id, input: body.input }]);
    const events = await acceptedEvents(id);
    expect(events).toHaveLength(1);

    // A retry after the race is answered with the same task, still without a second event.
    const retry = await submit(0, idempotencyKey, body);
    expect(retry).toMatchObject({ status: 202, body: { id } });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await acceptedEvents(id)).toHaveLength(1);
  });

  it("answers 409 request in progress with Retry-After while the key's first request is still being admitted", async () => {
    const idempotencyKey = `in-progress-${uuidv7()}`;
    const body = { input: 'held in admission', mode: 'fast' };
    // The test holds the tenant's admission lock: the first request is admitted up to it, and waits there.
    const holder = await h.db.connect();
    let first: Promise<Answer>;
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM tenants WHERE id = 'acme' FOR NO KEY UPDATE`);
      first = submit(0, idempotencyKey, body);
      await pollUntil(
        async () =>
          (
            await h.db.query<{ waiting: number }>(
              `SELECT count(*)::int AS waiting FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM tenants%'`,
            )
          ).rows[0]!.waiting,
        (waiting) => waiting === 1,
        { what: 'the first submission waiting for the admission lock' },
      );
      const inProgress = await Promise.race([
        submit(1, idempotencyKey, body),
        new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 15_000)),
      ]);
      expect(inProgress).not.toBe('still waiting');
      expect((inProgress as Answer).status).toBe(409);
      expectInProgress(inProgress as Answer);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const admitted = await first;
    expect(admitted.status).toBe(202);
    const retried = await submit(1, idempotencyKey, body);
    expect(retried).toMatchObject({ status: 202, body: { id: admitted.body.id } });
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(await acceptedEvents(admitted.body.id!)).toHaveLength(1);
  });

  it('admits one of 8 different bodies sent at once under one key, and refuses the others with 422', async () => {
    const idempotencyKey = `different-${uuidv7()}`;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => submit(i, idempotencyKey, { input: `variant ${i}`, mode: 'fast' })),
    );
    const winners = answers.filter((a) => a.status === 202);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.headers.get('idempotent-replayed')).toBeNull();
    for (const a of answers.filter((x) => x.status !== 202)) {
      if (a.status === 409) expectInProgress(a);
      else {
        expect(a.status).toBe(422);
        expect(a.body.message).toMatch(/already used with a different request body/);
      }
    }
    const id = winners[0]!.body.id!;
    const stored = await storedTasks(idempotencyKey);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.id).toBe(id);
    expect(await acceptedEvents(id)).toHaveLength(1);
  });

  it('admits one task when the Kafka intake hands the same task id to both replicas at once', async () => {
    const taskId = uuidv7();
    const submission = taskSubmissionSchema.parse({ input: 'from the intake topic', mode: 'fast' });
    const admissions = await Promise.all(
      [...h.apps, ...h.apps].map((app) =>
        app.get(TaskAdmissionService).admitFromKafka('acme', taskId, submission),
      ),
    );
    expect(admissions.filter((a) => !a.replayed)).toHaveLength(1);
    expect(new Set(admissions.map((a) => a.task.id))).toEqual(new Set([taskId]));
    expect(await acceptedEvents(taskId)).toHaveLength(1);
  });
});

import { reasoningTraceRecordedEvent, TASK_LIMITS, taskAcceptedEvent, uuidv7 } from '@deliberate/contracts';
import { pollUntil } from '@deliberate/testing';
import { type AuditHarness, auditHttp, startAudit, storedCount } from './audit-harness';
import { publishTask } from './fixtures';

// One task's text is as long as the API allows and made of a single character class: the sink still stores it
// (redacted) and the other tenants' trail keeps moving. A pattern that backtracks on such a run held the consumer
// for minutes per field, past its session, and the whole trail with it.

const PII = 'Mail jane.doe@example.com, card 4111 1111 1111 1111. ';
const RUNS = { letters: 'a', digits: '7', ats: '@', spaces: ' ', mixed: 'a.' } as const;
const run = (unit: string, chars: number) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);

let h: AuditHarness;

beforeAll(async () => {
  h = await startAudit('audit-hostile-text');
});

afterAll(async () => {
  await h?.close();
});

const spec = (input: string, context: { content: string }[] = []) => ({
  input,
  context,
  mode: 'auto' as const,
  latencyBudgetMs: null,
  maxCostMicroUsd: null,
  webhookUrl: null,
  metadata: {},
});

/** Publishes one event per character class, the run filling the largest field the contracts accept. */
async function publishHostile(tenantId: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const now = new Date().toISOString();
  for (const [name, unit] of Object.entries(RUNS)) {
    // The input, at its limit: the PII, a space, then the run.
    const input = PII + run(unit, TASK_LIMITS.maxInputChars - PII.length);
    ids.set(
      `input:${name}`,
      await h.publish(taskAcceptedEvent, {
        tenantId,
        taskId: uuidv7(),
        data: { spec: spec(input), submittedVia: 'http', acceptedAt: now },
      }),
    );
  }
  // A context document and a model's trace: the same runs in the other free-text fields.
  ids.set(
    'context:digits',
    await h.publish(taskAcceptedEvent, {
      tenantId,
      taskId: uuidv7(),
      data: {
        spec: spec('see the document', [{ content: PII + run('1', 400_000) }]),
        submittedVia: 'kafka',
        acceptedAt: now,
      },
    }),
  );
  ids.set(
    'trace:letters',
    await h.publish(reasoningTraceRecordedEvent, {
      tenantId,
      taskId: uuidv7(),
      data: {
        executionId: uuidv7(),
        attempt: 1,
        tier: 'reasoning',
        model: 'sim-reasoner',
        prompt: [{ role: 'user', content: PII + run('b', 150_000) }],
        contextSelection: null,
        trace: PII + run('x', 200_000),
        providerReasoning: null,
        answer: PII,
        parse: 'tagged',
        finishReason: 'stop',
        usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, reasoningTokens: 1 },
        outcome: 'answered',
        recordedAt: now,
      },
    }),
  );
  return ids;
}

it('stores events whose text is a maximal run of one character class, redacted, next to another tenant', async () => {
  const ids = await publishHostile('hostile-runs');
  const neighbour = await publishTask(h, 'hostile-neighbour', {
    input: 'Call jane@example.org about it',
  });

  await pollUntil(
    () => storedCount(h, 'hostile-neighbour'),
    (n) => n === neighbour.eventIds.length,
    { what: "the neighbour tenant's events" },
  );
  await pollUntil(
    () => storedCount(h, 'hostile-runs'),
    (n) => n === ids.size,
    { what: 'the events with long runs' },
  );

  const { rows } = await h.db.query<{ event_id: string; content: string }>(
    `SELECT event_id, content FROM records WHERE tenant_id = 'hostile-runs'`,
  );
  const content = new Map(rows.map((r) => [r.event_id, r.content]));
  for (const [what, id] of ids) {
    const stored = content.get(id)!;
    expect({
      what,
      email: stored.includes('[redacted:email]'),
      card: stored.includes('[redacted:card]'),
    }).toEqual({
      what,
      email: true,
      card: true,
    });
    expect(stored).not.toContain('jane.doe');
    expect(stored).not.toContain('4111 1111');
  }
  // The runs themselves are kept: nothing in them is personal data.
  expect(content.get(ids.get('input:letters')!)).toContain(run('a', 10_000));
  expect(content.get(ids.get('context:digits')!)).toContain(run('1', 10_000));
  expect(content.get(ids.get('input:ats')!)).toContain(run('@', 10_000));

  const verify = await auditHttp<{ ok: boolean }>(h, '/v1/audit/verify?tenantId=hostile-runs');
  expect(verify.body).toMatchObject({ ok: true });
});

it('closes in the middle of a batch: what was in flight is stored, the rest after the restart, each once', async () => {
  // Hold the sink's write (a lock on the records table) so that the service closes with batches in flight: one
  // being written, the others prepared and queued behind it.
  const locker = await h.db.connect();
  const ids = new Map<string, string>();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE records IN SHARE MODE');
    await publishTask(h, 'hostile-restart-first').then((t) =>
      t.eventIds.forEach((id, i) => ids.set(`first:${i}`, id)),
    );
    await pollUntil(
      async () => {
        const { rows } = await h.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'deliberate-audit' AND wait_event_type = 'Lock'`,
        );
        return Number(rows[0]!.n);
      },
      (n) => n > 0,
      { what: 'the sink waiting on its write' },
    );
    for (const [what, id] of await publishHostile('hostile-restart')) ids.set(what, id);
    // Give the sink a moment to fetch and queue them; then close, and once its shutdown hooks run, let the write go.
    await new Promise((r) => setTimeout(r, 1_000));
    const restarted = h.restart();
    await new Promise((r) => setTimeout(r, 500));
    await locker.query('ROLLBACK');
    await restarted;
  } finally {
    locker.release();
  }
  const stored = async () =>
    (
      await h.db.query<{ event_id: string }>(
        `SELECT event_id FROM records WHERE tenant_id IN ('hostile-restart-first', 'hostile-restart')`,
      )
    ).rows.map((r) => r.event_id);
  await pollUntil(stored, (rows) => rows.length >= ids.size, { what: 'every event after the restart' });
  expect((await stored()).sort()).toEqual([...ids.values()].sort());
});

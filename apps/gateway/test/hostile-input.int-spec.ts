import { taskAcceptedEvent, uuidv7 } from '@deliberate/contracts';
import type { TaskRecord } from '@deliberate/gateway/tasks/task-record';
import { TaskRepository } from '@deliberate/gateway/tasks/task.repository';
import { OutboxRelay } from '@deliberate/outbox';
import { collectMessages, pollUntil, scrapeMetrics, testTaskSpec } from '@deliberate/testing';
import { type GatewayHarness, startGateway } from './gateway-harness';

// Input the stores behind the gateway cannot hold is refused at the edge with 400 naming where it sits, and the
// largest task the gateway accepts is one whose event Kafka still carries: a larger body is 413, nothing stored.

const ADMIN_KEY = 'hostile-input-admin-key-0123456789';
const TENANT = 'hostile-input';

interface Answer {
  status: number;
  headers: Headers;
  body: { statusCode?: number; error?: string; message?: string; id?: string } & Record<string, unknown>;
}

describe('gateway hostile input', () => {
  let h: GatewayHarness;
  let submitterKey: string;
  let reviewerKey: string;

  // A body that is not JSON (the docs page) reads as {}: the status and headers are what the test reads then.
  const call = (
    method: string,
    path: string,
    options: { key?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> =>
    h.call<Answer['body']>(method, path, {
      ...(options.key ? { key: options.key } : {}),
      ...(options.body !== undefined ? { rawBody: options.body } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });

  async function taskCount(): Promise<number> {
    const { rows } = await h.db.query<{ n: string }>('SELECT count(*) AS n FROM gateway.tasks');
    return Number(rows[0]!.n);
  }

  /** A submission of exactly `bytes` bytes of UTF-8, most of it in context documents. */
  function submissionOfBytes(bytes: number): string {
    const shell = (a: number, b: number) =>
      JSON.stringify({
        input: 'summarise the documents',
        context: [{ content: 'a'.repeat(a) }, { content: 'b'.repeat(b) }],
      });
    const room = bytes - Buffer.byteLength(shell(0, 0));
    const body = shell(Math.ceil(room / 2), Math.floor(room / 2));
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  }

  beforeAll(async () => {
    h = await startGateway('hostile_input', {
      adminKey: ADMIN_KEY,
      env: { GATEWAY_PLATFORM_AUDITOR_API_KEY: 'hostile-input-auditor-key-0123456789' },
    });
    ({ submitter: submitterKey, reviewer: reviewerKey } = (await h.createTenant(
      TENANT,
      ['submitter', 'reviewer'],
      'Hostile input',
    )) as { submitter: string; reviewer: string });
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('NUL and lone surrogates', () => {
    // Bodies are written by hand: JSON.parse turns these escapes into the characters themselves.
    it.each([
      ['a NUL in the input', '{"input":"before\\u0000after"}', 'input: contains a NUL character'],
      [
        'a lone surrogate in the input',
        '{"input":"half \\ud800 a pair"}',
        'input: contains a lone UTF-16 surrogate',
      ],
      [
        'a NUL in a chat message',
        '{"input":[{"role":"user","content":"ok"},{"role":"user","content":"\\u0000"}]}',
        'input[1].content: contains a NUL character',
      ],
      [
        'a NUL in a metadata value',
        '{"input":"x","metadata":{"note":"a\\u0000"}}',
        'metadata.note: contains a NUL',
      ],
      [
        'a lone low surrogate in a metadata key',
        '{"input":"x","metadata":{"k\\udc00":"v"}}',
        'metadata.k\\udc00: contains a lone',
      ],
      [
        'a NUL in a context document',
        '{"input":"x","context":[{"title":"t\\u0000","content":"c"}]}',
        'context[0].title: contains a NUL',
      ],
    ])(
      'POST /v1/tasks refuses %s with 400 naming the field, and stores nothing',
      async (_what, body, message) => {
        const before = await taskCount();
        const res = await call('POST', '/v1/tasks', { key: submitterKey, body });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
        expect(res.body.message).toContain(message);
        expect(await taskCount()).toBe(before);
      },
    );

    it('accepts emoji (well-formed surrogate pairs) and other unusual but valid text', async () => {
      const res = await call('POST', '/v1/tasks', {
        key: submitterKey,
        body: '{"input":"\\ud83d\\ude00 caf\\u00e9 \\u2028 tab\\t","metadata":{"note":"\\u0001"}}',
      });
      expect(res.status).toBe(202);
    });

    it('refuses a NUL in a cancel reason with 400', async () => {
      const res = await call('POST', '/v1/tasks/0190a9a0-0000-7000-8000-000000000000/cancel', {
        key: submitterKey,
        body: '{"reason":"stop\\u0000"}',
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('reason: contains a NUL character (\\u0000)');
    });

    it('refuses a lone surrogate in a review answer with 400', async () => {
      const res = await call('POST', '/v1/reviews/0190a9a0-0000-7000-8000-000000000000/answer', {
        key: reviewerKey,
        body: '{"answer":"yes \\udbff"}',
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('answer: contains a lone UTF-16 surrogate (not valid Unicode)');
    });

    it('refuses a NUL in an admin body', async () => {
      const res = await call('POST', '/v1/admin/tenants', {
        key: ADMIN_KEY,
        body: '{"id":"nul-tenant","name":"N\\u0000"}',
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('name: contains a NUL character (\\u0000)');
    });

    it('refuses a NUL in a query parameter', async () => {
      const res = await call('GET', '/v1/reviews?limit=5%00', { key: reviewerKey });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('query.limit: contains a NUL character (\\u0000)');
    });

    it('refuses a NUL in a path parameter before it reaches a query', async () => {
      const res = await call('POST', `/v1/admin/tenants/${TENANT}%00/api-keys`, {
        key: ADMIN_KEY,
        body: JSON.stringify({ role: 'submitter' }),
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/NUL character/);
    });
  });

  describe('the largest task', () => {
    it('derives the body limit from the Kafka message limit', () => {
      expect(h.config.GATEWAY_MAX_BODY_BYTES).toBeLessThan(h.config.KAFKA_MAX_MESSAGE_BYTES);
    });

    it('answers 413 to a body one byte over the limit, and stores nothing', async () => {
      const before = await taskCount();
      const res = await call('POST', '/v1/tasks', {
        key: submitterKey,
        body: submissionOfBytes(h.config.GATEWAY_MAX_BODY_BYTES + 1),
      });
      expect(res.status).toBe(413);
      expect(res.body.message).toMatch(/exceeds the limit of \d+ bytes/);
      expect(await taskCount()).toBe(before);
    });

    it('accepts a body at the limit, and its event reaches Kafka', async () => {
      const res = await call('POST', '/v1/tasks', {
        key: submitterKey,
        body: submissionOfBytes(h.config.GATEWAY_MAX_BODY_BYTES),
      });
      expect(res.status).toBe(202);
      const id = res.body.id!;
      const [message] = await collectMessages(`${h.prefix}tasks.task.accepted.v1`, 1, {
        filter: (m) => m.headers?.['ce_taskid']?.toString() === id,
        timeoutMs: 30_000,
      });
      expect(message!.value!.length).toBeGreaterThan(h.config.GATEWAY_MAX_BODY_BYTES);
      await pollUntil(
        async () =>
          (await h.db.query('SELECT published_at FROM gateway.outbox WHERE task_id = $1', [id])).rows[0],
        (row: { published_at: Date | null } | undefined) => row?.published_at != null,
        { what: 'the task marked published' },
      );
    });
  });

  it('sets aside a stored task whose event Kafka cannot carry, and still publishes the tasks behind it', async () => {
    // Stored before the limit held (an older gateway, a lowered KAFKA_MAX_MESSAGE_BYTES): the outbox must not
    // retry it forever, nor hold up the rows queued after it.
    const anHourAgo = Date.now() - 3_600_000;
    const record = (content: string, createdAtMs: number): TaskRecord => ({
      id: uuidv7(),
      tenantId: TENANT,
      status: 'accepted',
      spec: testTaskSpec('summarise', { context: content ? [{ content }] : [] }),
      submittedVia: 'http',
      idempotencyKey: null,
      requestHash: uuidv7(),
      triage: null,
      result: null,
      error: null,
      escalation: null,
      cancellation: null,
      createdAt: new Date(createdAtMs),
      updatedAt: new Date(createdAtMs),
    });
    const tooLarge = record('x'.repeat(h.config.KAFKA_MAX_MESSAGE_BYTES + 100_000), anHourAgo);
    const behind = record('', anHourAgo + 1_000);
    const repository = h.apps[0]!.get(TaskRepository);
    for (const task of [tooLarge, behind]) {
      await repository.insertOrGetExisting(task);
      // Its accepted event as an older gateway stored it, before events were checked when written.
      await h.db.query(
        `INSERT INTO gateway.outbox (id, topic, tenant_id, task_id, payload, created_at)
         VALUES ($1, $2, $3, $1, $4, $5)`,
        [
          task.id,
          taskAcceptedEvent.topic,
          task.tenantId,
          JSON.stringify({ spec: task.spec, submittedVia: 'http', acceptedAt: task.createdAt.toISOString() }),
          task.createdAt,
        ],
      );
    }

    const deadBefore = (await scrapeMetrics(h.url)).value('deliberate_outbox_dead_rows');
    await h.apps[0]!.get(OutboxRelay).relayStale(500);

    const rows = async () =>
      (
        await h.db.query<{
          id: string;
          status: string;
          error: { code: string } | null;
          published_at: Date | null;
        }>(
          `SELECT t.id, t.status, t.error, COALESCE(o.published_at, o.dead_at) AS published_at
             FROM gateway.tasks t JOIN gateway.outbox o ON o.task_id = t.id
            WHERE t.id = ANY($1::uuid[])`,
          [[tooLarge.id, behind.id]],
        )
      ).rows;
    // A sweep of its own may have claimed the rows first: its verdicts commit with its transaction.
    const settled = await pollUntil(
      rows,
      (r) => r.length === 2 && r.every((row) => row.published_at !== null),
      {
        what: 'both outbox rows published or set aside',
      },
    );
    const byId = new Map(settled.map((r) => [r.id, r]));
    expect(byId.get(behind.id)!.published_at).not.toBeNull();
    expect(byId.get(tooLarge.id)).toMatchObject({ status: 'failed', error: { code: 'task_too_large' } });
    expect(byId.get(tooLarge.id)!.published_at).not.toBeNull();
    await collectMessages(`${h.prefix}tasks.task.accepted.v1`, 1, {
      filter: (m) => m.headers?.['ce_taskid']?.toString() === behind.id,
    });
    // The row set aside waits for an operator: /metrics counts it, for the alert on dead outbox rows.
    expect((await scrapeMetrics(h.url)).value('deliberate_outbox_dead_rows')).toBe(deadBefore + 1);
  });

  describe('security headers', () => {
    it('sends the standard headers on API answers, and no X-Powered-By', async () => {
      for (const res of [
        await call('GET', '/health'),
        await call('GET', '/v1/tasks/x'),
        await call('POST', '/v1/tasks', { key: submitterKey, body: '{"input":' }),
      ]) {
        expect(res.headers.get('x-powered-by')).toBeNull();
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('content-security-policy')).toBe(
          "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        );
      }
    });

    it('lets the docs page run its own script and assets, and nothing else', async () => {
      const page = await fetch(`${h.url}/docs`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
      // The one inline script is allowed by its hash, so a changed page cannot silently break the policy.
      const inline = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
      const { createHash } = await import('node:crypto');
      expect(csp).toContain(`'sha256-${createHash('sha256').update(inline).digest('base64')}'`);
      const asset = await fetch(`${h.url}/docs/assets/swagger-ui-bundle.js`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
    });
  });
});

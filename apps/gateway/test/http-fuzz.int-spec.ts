import {
  cancelTaskRequestSchema,
  createApiKeyRequestSchema,
  createTenantRequestSchema,
  findUnsafeText,
  issueIntakeSecretRequestSchema,
  patchTenantRequestSchema,
  reviewAnswerRequestSchema,
  taskSubmissionSchema,
} from '@deliberate/contracts';
import { type Receiver, startReceiver } from '@deliberate/testing';
import fc from 'fast-check';
import type { z } from 'zod';
import { type GatewayHarness, startGateway } from './gateway-harness';

// Every JSON route of the gateway, fed random and hostile bodies: values of the wrong type, NUL and lone surrogates,
// long runs of one character class up to (and one past) the largest size a field accepts. The gateway answers
// 4xx to what its contract refuses and 2xx to what it accepts; never a 5xx.

const ADMIN_KEY = 'http-fuzz-admin-key-0123456789abcdef';
const TENANT = 'http-fuzz';
const RUNS = 100;

// Characters that stress different paths: plain letters and digits (the redactor's worst case), '@' (e-mail
// patterns), spaces, a two-byte and a four-byte character.
const CHARACTER_CLASSES = ['a', 'Z', '7', '@', ' ', '\u00e9', '\u{1F600}'];
const UNSAFE = ['\u0000', '\ud800', '\udfff', 'a\u0000b', 'x\udbffy'];

/** One character repeated: short, or exactly at the field's limit, or one past it. */
const oneClassRun = (max: number) =>
  fc
    .tuple(
      fc.constantFrom(...CHARACTER_CLASSES),
      fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(max, max + 1)),
    )
    .map(([c, n]) => c.repeat(c.length === 2 ? Math.ceil(n / 2) : n));

const hostileString = (max: number) =>
  fc.oneof(
    { arbitrary: fc.string({ minLength: 1, maxLength: 40 }), weight: 3 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
    { arbitrary: fc.constantFrom(...UNSAFE), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...UNSAFE), fc.string({ maxLength: 10 }))
        .map(([a, u, b]) => `${a}${u}${b}`),
      weight: 2,
    },
    { arbitrary: oneClassRun(max), weight: 2 },
  );

/** A value of any JSON type, for fields that should have another. */
const wrongType = fc.jsonValue({ maxDepth: 3 });

/** Usually a value of the field's type (so the rest of the body gets looked at), sometimes anything. */
const mostly = <T>(typed: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: typed, weight: 6 }, { arbitrary: wrongType, weight: 1 });

/** An optional field: often absent, usually valid, now and then out of range or of the wrong type. */
const optional = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown> = wrongType) =>
  fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: valid, weight: 4 },
    { arbitrary: invalid, weight: 1 },
  );

const submission = fc
  .tuple(
    fc.record({
      input: mostly(
        fc.oneof(
          hostileString(200_000),
          fc.array(
            fc.record({
              role: fc.constantFrom('user', 'system', 'assistant', 'robot'),
              content: hostileString(200_000),
            }),
            { minLength: 1, maxLength: 3 },
          ),
        ),
      ),
      context: optional(
        fc.array(
          fc.record(
            { id: hostileString(200), title: hostileString(500), content: hostileString(500_000) },
            { requiredKeys: ['content'] },
          ),
          { maxLength: 2 },
        ),
      ),
      mode: optional(fc.constantFrom('auto', 'fast', 'reasoning'), hostileString(10)),
      latencyBudgetMs: optional(
        fc.integer({ min: 3_000, max: 86_400_000 }),
        fc.oneof(fc.integer(), wrongType),
      ),
      maxCostUsd: optional(
        fc.double({ min: 0.01, max: 10_000, noNaN: true }),
        fc.oneof(fc.double(), wrongType),
      ),
      maxThinkingTokens: optional(fc.integer({ min: 16, max: 1_000_000 }), fc.oneof(fc.integer(), wrongType)),
      reasoningEffort: optional(fc.constantFrom('low', 'medium', 'high'), hostileString(10)),
      webhookUrl: optional(
        fc.constantFrom('https://example.com/hook', 'http://127.0.0.1:9/x?y=1'),
        hostileString(2048),
      ),
      metadata: optional(
        fc.dictionary(
          hostileString(64),
          fc.oneof(hostileString(512), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()),
          { maxKeys: 4 },
        ),
      ),
    }),
    // Now and then a field the contract does not know.
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: wrongType, weight: 1 }),
  )
  .map(([body, unexpected]) => (unexpected === undefined ? body : { ...body, unexpected }));

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as in any client). */
const percentEncoded = (s: string) =>
  [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** A body as the gateway sees it: any JSON value, usually shaped like the route's request. */
const bodyOf = <T>(shaped: fc.Arbitrary<T>) => fc.oneof({ arbitrary: shaped, weight: 4 }, wrongType);

interface Outcome {
  status: number;
  message: string;
}

describe('gateway JSON routes under fuzzing', () => {
  let h: GatewayHarness;
  let upstream: Receiver;
  const forwarded: string[] = [];
  let submitterKey: string;
  let reviewerKey: string;
  let taskId: string;

  async function send(
    method: string,
    path: string,
    key: string,
    body?: string,
    headers = {},
  ): Promise<Outcome> {
    const { status, text } = await h.call(method, path, {
      key,
      ...(body !== undefined ? { rawBody: body } : {}),
      headers,
    });
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not JSON: keep the raw text for the failure report
    }
    return { status, message };
  }

  /** What the contract says about a body: refused (a 4xx), or accepted, which the route answers with `ok`. */
  function judge(schema: z.ZodType, body: string): 'refused' | 'accepted' {
    if (Buffer.byteLength(body) > h.config.GATEWAY_MAX_BODY_BYTES) return 'refused';
    const value: unknown = JSON.parse(body);
    if (findUnsafeText(value)) return 'refused';
    return schema.safeParse(value).success ? 'accepted' : 'refused';
  }

  function expectOutcome(outcome: Outcome, verdict: 'refused' | 'accepted', ok: number[]): void {
    expect(outcome.status).toBeLessThan(500);
    if (verdict === 'refused') expect([400, 413]).toContain(outcome.status);
    else expect(ok).toContain(outcome.status);
  }

  beforeAll(async () => {
    upstream = await startReceiver(({ body }) => {
      forwarded.push(body);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
    });
    h = await startGateway('http_fuzz', {
      adminKey: ADMIN_KEY,
      env: {
        GATEWAY_PLATFORM_AUDITOR_API_KEY: 'http-fuzz-auditor-key-0123456789abcdef',
        GATEWAY_LEDGER_URL: upstream.url,
        LEDGER_INTERNAL_TOKEN: 'http-fuzz-ledger-token-0123456789',
        GATEWAY_WEBHOOKS_URL: upstream.url,
        WEBHOOKS_INTERNAL_TOKEN: 'http-fuzz-webhooks-token-0123456789',
      },
    });

    const tenant = await send(
      'POST',
      '/v1/admin/tenants',
      ADMIN_KEY,
      JSON.stringify({ id: TENANT, name: 'Fuzz' }),
    );
    expect(tenant.status).toBe(201);
    const key = async (role: string) => {
      const res = await h.call<{ key: string }>('POST', `/v1/admin/tenants/${TENANT}/api-keys`, {
        key: ADMIN_KEY,
        body: { role },
      });
      expect(res.status).toBe(201);
      return res.body.key;
    };
    submitterKey = await key('submitter');
    reviewerKey = await key('reviewer');
    const task = await h.call<{ id: string }>('POST', '/v1/tasks', {
      key: submitterKey,
      body: { input: 'a task to cancel, many times' },
    });
    expect(task.status).toBe(202);
    taskId = task.body.id;
  });

  afterAll(async () => {
    await h?.close();
    await upstream?.close();
  });

  it('POST /v1/tasks', async () => {
    await fc.assert(
      fc.asyncProperty(bodyOf(submission), async (value) => {
        const body = JSON.stringify(value) ?? 'null';
        const outcome = await send('POST', '/v1/tasks', submitterKey, body);
        expectOutcome(outcome, judge(taskSubmissionSchema, body), [202]);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('POST /v1/tasks with a hostile Idempotency-Key', async () => {
    // Every value a client can send at all: tab, printable ASCII and Latin-1 (control characters never leave it).
    const headerChar = fc
      .oneof(fc.constant(0x09), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
      .map((c) => String.fromCharCode(c));
    const headerValue = fc.oneof(
      fc.string({ unit: headerChar, maxLength: 300 }),
      oneClassRun(255).filter((s) => s.charCodeAt(0) < 0x100),
    );
    await fc.assert(
      fc.asyncProperty(headerValue, async (key) => {
        const outcome = await send('POST', '/v1/tasks', submitterKey, '{"input":"idempotent"}', {
          'idempotency-key': key,
        });
        expect(outcome.status).toBeLessThan(500);
        expect([202, 400, 422]).toContain(outcome.status);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/tasks/:id/cancel', async () => {
    const reason = fc.record({ reason: hostileString(1000) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(bodyOf(reason), async (value) => {
        const body = JSON.stringify(value) ?? 'null';
        const outcome = await send('POST', `/v1/tasks/${taskId}/cancel`, submitterKey, body);
        expectOutcome(outcome, judge(cancelTaskRequestSchema, body), [202]);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/reviews/:id/answer', async () => {
    const answer = fc.record({ answer: hostileString(200_000) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(bodyOf(answer), async (value) => {
        const body = JSON.stringify(value) ?? 'null';
        const outcome = await send('POST', `/v1/reviews/${taskId}/answer`, reviewerKey, body);
        // The task is not waiting for review: a valid answer is refused by the task's state, not its content.
        expectOutcome(outcome, judge(reviewAnswerRequestSchema, body), [409]);
      }),
      { numRuns: RUNS },
    );
  });

  it('GET /v1/reviews with a hostile limit', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString(20), async (limit) => {
        const outcome = await send('GET', `/v1/reviews?limit=${percentEncoded(limit)}`, reviewerKey);
        expect(outcome.status).toBeLessThan(500);
        expect([200, 400]).toContain(outcome.status);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/admin/tenants', async () => {
    const tenant = fc.record(
      {
        id: fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/), hostileString(63)),
        name: hostileString(200),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(bodyOf(tenant), async (value) => {
        const body = JSON.stringify(value) ?? 'null';
        const outcome = await send('POST', '/v1/admin/tenants', ADMIN_KEY, body);
        expectOutcome(outcome, judge(createTenantRequestSchema, body), [201, 409]);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/admin/tenants/:id/api-keys, with hostile tenant ids in the path', async () => {
    const apiKey = fc.record(
      {
        role: fc.oneof(fc.constantFrom('submitter', 'auditor', 'admin', 'reviewer'), wrongType),
        name: hostileString(200),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        bodyOf(apiKey),
        fc.oneof(fc.constant(TENANT), hostileString(70)),
        async (value, tenant) => {
          const body = JSON.stringify(value) ?? 'null';
          const outcome = await send(
            'POST',
            `/v1/admin/tenants/${percentEncoded(tenant)}/api-keys`,
            ADMIN_KEY,
            body,
          );
          expect(outcome.status).toBeLessThan(500);
          if (tenant === TENANT) expectOutcome(outcome, judge(createApiKeyRequestSchema, body), [201]);
          else expect([400, 404, 413]).toContain(outcome.status);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('PATCH /v1/admin/tenants/:id (quotas)', async () => {
    // Another tenant's quotas, so the keys the other properties use keep their rate.
    const created = await send(
      'POST',
      '/v1/admin/tenants',
      ADMIN_KEY,
      '{"id":"http-fuzz-quotas","name":"Q"}',
    );
    expect(created.status).toBe(201);
    const count = (max: number) => optional(fc.oneof(fc.integer({ min: 1, max }), fc.constant(null)));
    const quotas = fc.record(
      {
        quotas: mostly(
          fc.record({
            requestsPerSecond: optional(
              fc.oneof(fc.double({ min: 0.01, max: 100_000, noNaN: true }), fc.constant(null)),
            ),
            burst: count(1_000_000),
            maxUnfinishedTasks: count(10_000_000),
            maxWebhookEndpoints: count(100_000),
            extra: optional(hostileString(20), hostileString(20)),
          }),
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(bodyOf(quotas), async (value) => {
        const body = JSON.stringify(value) ?? 'null';
        const outcome = await send('PATCH', '/v1/admin/tenants/http-fuzz-quotas', ADMIN_KEY, body);
        expectOutcome(outcome, judge(patchTenantRequestSchema, body), [200]);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/admin/tenants/:id/intake-secrets', async () => {
    const issue = fc.record(
      { overlapSeconds: mostly(fc.integer({ min: -10, max: 40 * 24 * 3600 })) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(bodyOf(issue), async (value) => {
        const body = JSON.stringify(value) ?? 'null';
        const outcome = await send('POST', `/v1/admin/tenants/${TENANT}/intake-secrets`, ADMIN_KEY, body);
        expectOutcome(outcome, judge(issueIntakeSecretRequestSchema, body), [201]);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['PUT', '/v1/ledger/budgets?tenantId=http-fuzz'],
    ['POST', '/v1/webhooks/endpoints?tenantId=http-fuzz'],
  ])('%s %s (proxied): what the edge passes on holds no unsafe text', async (method, path) => {
    forwarded.length = 0;
    await fc.assert(
      fc.asyncProperty(
        bodyOf(fc.dictionary(hostileString(20), hostileString(1000), { maxKeys: 3 })),
        async (value) => {
          const body = JSON.stringify(value) ?? 'null';
          const outcome = await send(method, path, ADMIN_KEY, body);
          expect(outcome.status).toBeLessThan(500);
          if (findUnsafeText(JSON.parse(body))) expect(outcome.status).toBe(400);
          else expect(outcome.status).toBe(200);
        },
      ),
      { numRuns: RUNS },
    );
    expect(forwarded.length).toBeGreaterThan(0);
    for (const body of forwarded) expect(findUnsafeText(JSON.parse(body))).toBeNull();
  });
});

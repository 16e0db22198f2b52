jest.setTimeout(120_000);

import { randomBytes } from 'node:crypto';
import { pollUntil, sendForgeries, signedInternalHeaders } from '@deliberate/testing';
import {
  type AuditExportLine,
  type AuditPage,
  type AuditRecordView,
  type AuditTimeline,
  uuidv7,
} from '@deliberate/contracts';
import { canonicalJson, contentHash } from '@deliberate/audit-chain';
import {
  type AuditHarness,
  INTERNAL_KEY,
  auditHttp,
  auditor,
  PLATFORM_AUDITOR,
  startAudit,
  storedCount,
} from './audit-harness';
import { publishTask } from './fixtures';

// The auditor API: a tenant's auditor sees only its tenant (another tenant's task is a 404), the platform auditor
// sees all; search filters and pages with a cursor; exports stream JSONL and CSV; every query is itself recorded.

let h: AuditHarness;
let taskA: string;
let taskB: string;
let secretTask: string;

beforeAll(async () => {
  h = await startAudit('audit-api', {
    AUDIT_ENCRYPTED_TENANTS: 'api-secret',
    AUDIT_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  });
  taskA = (await publishTask(h, 'api-a', { metadata: { product: 'loan', region: 'eu' } })).taskId;
  await publishTask(h, 'api-a', {
    input: 'Is this transaction fraudulent?',
    metadata: { product: 'card', region: 'us' },
  });
  await publishTask(h, 'api-a', { metadata: { product: 'loan', region: 'us' } });
  taskB = (await publishTask(h, 'api-b', { input: 'tenant b private question' })).taskId;
  secretTask = (await publishTask(h, 'api-secret', { input: 'confidential diagnosis question' })).taskId;
  await pollUntil(
    async () => [
      await storedCount(h, 'api-a'),
      await storedCount(h, 'api-b'),
      await storedCount(h, 'api-secret'),
    ],
    (n) => n[0] === 15 && n[1] === 5 && n[2] === 5,
    { what: 'every task stored' },
  );
});

afterAll(async () => {
  await h?.close();
});

it("gives a tenant's auditor its task timeline, oldest first, with each record's place in the chain", async () => {
  const res = await auditHttp<AuditTimeline>(h, `/v1/audit/tasks/${taskA}`, auditor('api-a'));
  expect(res.status).toBe(200);
  expect(res.body.entries.map((e) => e.type).sort()).toEqual(
    [
      'reasoning.trace.recorded.v1',
      'tasks.task.accepted.v1',
      'tasks.task.completed.v1',
      'tasks.task.triaged.v1',
      'usage.model-call.recorded.v1',
    ].sort(),
  );
  const times = res.body.entries.map((e) => e.occurredAt);
  expect([...times].sort()).toEqual(times);
  const trace = res.body.entries.find((e) => e.type === 'reasoning.trace.recorded.v1')!;
  expect(trace).toMatchObject({ model: 'sim-reasoner', route: 'reasoning', status: 'answered' });
  expect(trace.data).toMatchObject({
    prompt: [{ role: 'user', content: 'Should we approve the loan?' }],
    trace: 'income is fine',
  });
  expect(trace.recordHash).toMatch(/^[0-9a-f]{64}$/);
});

it("shows tenant A's auditor nothing of tenant B", async () => {
  const a = auditor('api-a');
  expect((await auditHttp(h, `/v1/audit/tasks/${taskB}`, a)).status).toBe(404);
  expect((await auditHttp(h, `/v1/audit/tasks/${taskB}?tenantId=api-b`, a)).status).toBe(403);
  const page = await auditHttp<AuditPage>(h, '/v1/audit/events?limit=500&q=private', a);
  expect(page.body.items).toEqual([]);
  const all = await auditHttp<AuditPage>(h, '/v1/audit/events?limit=500', a);
  expect(all.body.items.length).toBeGreaterThan(0);
  expect(all.body.items.every((i) => i.tenantId === 'api-a')).toBe(true);
  expect((await auditHttp(h, '/v1/audit/verify?tenantId=api-b', a)).status).toBe(403);
  expect((await auditHttp(h, '/v1/audit/events?tenantId=api-b', a)).status).toBe(403);
  const exported = await auditHttp(
    h,
    '/v1/audit/export?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z',
    a,
  );
  expect(exported.text).not.toContain('api-b');
  expect(exported.text).toContain('api-a');
});

it('lets the platform auditor read every tenant, or one', async () => {
  expect((await auditHttp<AuditTimeline>(h, `/v1/audit/tasks/${taskB}`)).body.tenantId).toBe('api-b');
  const tenants = new Set(
    (await auditHttp<AuditPage>(h, '/v1/audit/events?limit=500')).body.items.map((i) => i.tenantId),
  );
  expect([...tenants]).toEqual(expect.arrayContaining(['api-a', 'api-b', 'api-secret']));
  const onlyB = (await auditHttp<AuditPage>(h, '/v1/audit/events?tenantId=api-b&limit=500')).body.items;
  expect(onlyB.length).toBeGreaterThan(0);
  expect(onlyB.every((i) => i.tenantId === 'api-b')).toBe(true);
});

it('refuses any identity the gateway did not sign for that exact request, saying why, and records none', async () => {
  const before = await storedCount(h, 'api-b', 'audit.query.v1');
  const request = {
    key: INTERNAL_KEY,
    service: 'audit',
    method: 'GET',
    target: '/v1/audit/events?tenantId=api-b',
    principal: auditor('api-b', 'submitter'),
  };
  // Each forgery claims the platform auditor: were one believed, tenant B's trail would be read.
  const outcomes = await sendForgeries(h.url, request, PLATFORM_AUDITOR);
  expect(outcomes).toEqual(
    outcomes.map((o) => ({ forgery: o.forgery, status: 401, message: 'as expected' })),
  );
  expect(await storedCount(h, 'api-b', 'audit.query.v1')).toBe(before);
});

it('accepts a signed request once and refuses the same request replayed', async () => {
  const target = '/v1/audit/verify?tenantId=api-b';
  const identity = signedInternalHeaders({
    key: INTERNAL_KEY,
    service: 'audit',
    method: 'GET',
    target,
    principal: PLATFORM_AUDITOR,
  });
  expect((await auditHttp(h, target, PLATFORM_AUDITOR, identity)).status).toBe(200);
  const replayed = await auditHttp(h, target, PLATFORM_AUDITOR, identity);
  expect(replayed.status).toBe(401);
  expect(replayed.body['message']).toMatch(/replayed/);
});

it('refuses roles other than auditor, and bad queries with a precise 400', async () => {
  expect((await auditHttp(h, `/v1/audit/tasks/${taskA}`, auditor('api-a', 'submitter'))).status).toBe(403);
  expect((await auditHttp(h, `/v1/audit/tasks/not-a-uuid`, auditor('api-a'))).status).toBe(400);
  const bad = await auditHttp<{ message: string }>(h, '/v1/audit/events?from=yesterday', auditor('api-a'));
  expect(bad.status).toBe(400);
  expect(bad.body.message).toMatch(/from/);
  expect((await auditHttp(h, '/v1/audit/events?cursor=garbage', auditor('api-a'))).status).toBe(400);
  expect((await auditHttp(h, '/v1/audit/verify', PLATFORM_AUDITOR)).status).toBe(400);
});

it('filters by route, model, status, decision, metadata and text, and pages with a cursor', async () => {
  const a = auditor('api-a');
  const q = async (query: string) =>
    (await auditHttp<AuditPage>(h, `/v1/audit/events?${query}`, a)).body.items;
  expect((await q('type=tasks.task.triaged.v1&route=reasoning&decision=model')).length).toBe(3);
  expect((await q('model=sim-reasoner&status=completed')).length).toBe(3);
  const loansInUs = await q('meta.product=loan&meta.region=us');
  expect(loansInUs.length).toBe(1);
  expect(loansInUs[0]!.type).toBe('tasks.task.accepted.v1');
  const fraud = await q('q=fraudulent');
  expect(fraud.length).toBeGreaterThan(0);
  expect(fraud.every((i) => JSON.stringify(i.data).includes('fraudulent'))).toBe(true);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: AuditPage = (
      await auditHttp<AuditPage>(
        h,
        `/v1/audit/events?type=tasks.task.accepted.v1&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        a,
      )
    ).body;
    seen.push(...page.items.map((i) => i.eventId));
    cursor = page.nextCursor;
  } while (cursor);
  expect(seen.length).toBe(3);
  expect(new Set(seen).size).toBe(3);

  const now = Date.now();
  const from = new Date(now - 3_600_000).toISOString();
  const to = new Date(now + 3_600_000).toISOString();
  expect((await q(`from=${from}&to=${to}&type=tasks.task.completed.v1`)).length).toBe(3);
  expect((await q(`from=${to}&to=${new Date(now + 7_200_000).toISOString()}`)).length).toBe(0);
});

it('exports a period as JSONL and as CSV', async () => {
  const period = `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}`;
  const jsonl = await auditHttp(
    h,
    `/v1/audit/export?${period}&type=tasks.task.accepted.v1`,
    auditor('api-a'),
  );
  expect(jsonl.status).toBe(200);
  expect(jsonl.headers.get('content-type')).toContain('application/x-ndjson');
  const lines = jsonl.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecordView);
  expect(lines).toHaveLength(3);
  expect(lines.every((l) => l.type === 'tasks.task.accepted.v1' && l.tenantId === 'api-a')).toBe(true);

  const csv = await auditHttp(
    h,
    `/v1/audit/export?${period}&type=tasks.task.accepted.v1&format=csv`,
    auditor('api-a'),
  );
  expect(csv.headers.get('content-type')).toContain('text/csv');
  const rows = csv.text.trim().split('\r\n');
  expect(rows[0]).toBe(
    'tenantId,seq,occurredAt,recordedAt,type,source,eventId,taskId,route,model,status,decision,data,prevHash,contentHash,recordHash',
  );
  expect(rows).toHaveLength(4);
});

it('stores an encrypted tenant’s prompts and answers as ciphertext, and shows them decrypted to its auditor', async () => {
  const { rows } = await h.db.query<{ content: string; search: string | null }>(
    `SELECT content, search::text FROM records WHERE tenant_id = 'api-secret'`,
  );
  const stored = rows.map((r) => `${r.content}${r.search ?? ''}`).join('\n');
  expect(stored).not.toContain('confidential');
  expect(stored).toContain('aes-256-gcm');
  const timeline = await auditHttp<AuditTimeline>(h, `/v1/audit/tasks/${secretTask}`, auditor('api-secret'));
  const accepted = timeline.body.entries.find((e) => e.type === 'tasks.task.accepted.v1')!;
  expect(accepted.data).toMatchObject({ spec: { input: 'confidential diagnosis question' } });
  const verify = await auditHttp<{ ok: boolean }>(h, '/v1/audit/verify', auditor('api-secret'));
  expect(verify.body.ok).toBe(true);
});

it('exports what the content hash covers: storedContent beside the decrypted data of an encrypted tenant only', async () => {
  const period = 'from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z';
  const lines = async (tenant: string) =>
    (await auditHttp(h, `/v1/audit/export?${period}`, auditor(tenant))).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditExportLine);
  const recomputed = (l: AuditExportLine) =>
    contentHash({ ...l, content: l.storedContent ?? canonicalJson(l.data) }).toString('hex');

  const secret = await lines('api-secret');
  const accepted = secret.find((l) => l.type === 'tasks.task.accepted.v1')!;
  expect(accepted.data).toMatchObject({ spec: { input: 'confidential diagnosis question' } });
  expect(accepted.storedContent).toContain('aes-256-gcm');
  expect(accepted.storedContent).not.toContain('confidential');
  expect(secret.every((l) => recomputed(l) === l.contentHash)).toBe(true);
  // Without storedContent the decrypted data would not hash to the stored content hash.
  expect(contentHash({ ...accepted, content: canonicalJson(accepted.data) }).toString('hex')).not.toBe(
    accepted.contentHash,
  );

  const plain = await lines('api-a');
  expect(plain.some((l) => 'storedContent' in l)).toBe(false);
  expect(plain.every((l) => recomputed(l) === l.contentHash)).toBe(true);
});

it('records every auditor query in the chain of the tenant asked about, or the platform chain', async () => {
  const before = await storedCount(h, 'api-b', 'audit.query.v1');
  const platformBefore = await storedCount(h, '*platform', 'audit.query.v1');
  await auditHttp(h, `/v1/audit/tasks/${taskB}?tenantId=api-b`);
  await auditHttp(h, `/v1/audit/events?model=sim-reasoner`);
  expect(await storedCount(h, 'api-b', 'audit.query.v1')).toBe(before + 1);
  expect(await storedCount(h, '*platform', 'audit.query.v1')).toBe(platformBefore + 1);
  const own = await auditHttp<AuditPage>(
    h,
    '/v1/audit/events?type=audit.query.v1&limit=500',
    auditor('api-b'),
  );
  // This listing is recorded while it runs: its own record is on the page or not, whichever commits first.
  const earlier = own.body.items.filter((i) => {
    const data = i.data as { endpoint?: string; filters?: { type?: string } };
    return !(data.endpoint === 'search' && data.filters?.type === 'audit.query.v1');
  });
  const last = earlier[earlier.length - 1]!;
  expect(last.data).toMatchObject({
    who: { kind: 'platform-auditor' },
    endpoint: 'task-timeline',
    filters: { taskId: taskB },
  });
  expect((await auditHttp(h, `/v1/audit/tasks/${uuidv7()}`, auditor('api-b'))).status).toBe(404);
});

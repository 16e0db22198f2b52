jest.setTimeout(120_000);

import { AuditDatabase, writerUrl } from '@deliberate/audit/persistence/audit-database';
import { pollUntil, proxyTestDatabase, type TcpProxy, throughProxy } from '@deliberate/testing';
import { auditHttp, type AuditHarness, auditor, startAudit, storedCount } from './audit-harness';
import { publishTask } from './fixtures';

// AUDIT_READ_DATABASE_URL sends the auditor API's reads (timelines, search, export, verify, checkpoints) to a read
// database, a streaming replica in production; here the suite's own database behind a proxy the test can cut. Reads
// go there and only there, in read-only transactions; a read database that does not answer is a 503 with
// Retry-After for the auditor, while ingest goes on on the primary.

let h: AuditHarness;
let replica: TcpProxy;
const TENANT = 'read-db';

beforeAll(async () => {
  replica = await proxyTestDatabase();
  h = await startAudit('audit-read-db');
  await h.restart(undefined, { AUDIT_READ_DATABASE_URL: throughProxy(writerUrl(h.config), replica) });
});

afterAll(async () => {
  await h?.close();
  await replica?.close();
});

afterEach(() => replica.restore());

async function stored(tenantId: string): Promise<string> {
  const before = await storedCount(h, tenantId);
  const { taskId, eventIds } = await publishTask(h, tenantId);
  await pollUntil(
    () => storedCount(h, tenantId),
    (n) => n >= before + eventIds.length,
    { what: `the task of ${tenantId} stored` },
  );
  return taskId;
}

it('answers every auditor read from the read database, in read-only transactions', async () => {
  const taskId = await stored(TENANT);
  const before = replica.accepted();

  const timeline = await auditHttp<{ entries: unknown[] }>(h, `/v1/audit/tasks/${taskId}`, auditor(TENANT));
  expect(timeline.status).toBe(200);
  expect(timeline.body.entries.length).toBeGreaterThanOrEqual(5);
  const search = await auditHttp<{ items: unknown[] }>(h, `/v1/audit/events?tenantId=${TENANT}`);
  expect(search.status).toBe(200);
  expect(search.body.items.length).toBeGreaterThanOrEqual(5);
  const verify = await auditHttp<{ ok: boolean }>(h, `/v1/audit/verify?tenantId=${TENANT}`);
  expect(verify.status).toBe(200);
  expect(verify.body.ok).toBe(true);
  expect((await auditHttp(h, `/v1/audit/checkpoints?tenantId=${TENANT}`)).status).toBe(200);

  expect(replica.accepted()).toBeGreaterThan(before);
  const { rows } = await h.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity
      WHERE application_name = 'deliberate-audit-read' AND datname = current_database()`,
  );
  expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(1);
  // Even a bug in the read path cannot write: its transactions are read-only, on a primary too.
  const reads = h.app.get(AuditDatabase).reads;
  await expect(reads.one<{ transaction_read_only: string }>('SHOW transaction_read_only')).resolves.toEqual({
    transaction_read_only: 'on',
  });
  await expect(reads.query(`CREATE TABLE written_by_a_reader (x int)`)).rejects.toThrow(
    /read-only transaction/,
  );
});

it('answers 503 with Retry-After while the read database does not answer, and ingest goes on', async () => {
  const taskId = await stored(TENANT);
  replica.cut();

  for (const path of [
    `/v1/audit/tasks/${taskId}?tenantId=${TENANT}`,
    `/v1/audit/events?tenantId=${TENANT}`,
    `/v1/audit/verify?tenantId=${TENANT}`,
  ]) {
    const res = await auditHttp(h, path);
    expect({ path, status: res.status }).toEqual({ path, status: 503 });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  // The primary is not the read database: events are stored meanwhile.
  await stored(`${TENANT}-during`);

  replica.restore();
  const after = await auditHttp<{ items: unknown[] }>(h, `/v1/audit/events?tenantId=${TENANT}-during`);
  expect(after.status).toBe(200);
  expect(after.body.items.length).toBeGreaterThanOrEqual(5);
});

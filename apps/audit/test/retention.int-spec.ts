jest.setTimeout(120_000);

import { loadAuditConfig } from '@deliberate/audit/config';
import { RetentionService } from '@deliberate/audit/retention/retention.service';
import type { VerifyReport } from '@deliberate/contracts';
import { pollUntil } from '@deliberate/testing';
import {
  appendAt,
  type AuditHarness,
  auditHttp,
  createPastPartition,
  startAudit,
  storedCount,
} from './audit-harness';
import { publishTask } from './fixtures';

// Retention: records past the period go with their time partition, whole, once all of it has expired; the purge is
// itself a record in each chain it shortened (stating the last purged hash) with a signed checkpoint, and the chain
// still verifies afterwards.

const DAY_MS = 86_400_000;
const daysAgo = (n: number) => new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - n * DAY_MS);

let h: AuditHarness;

beforeAll(async () => {
  h = await startAudit('audit-retention', {
    AUDIT_RETENTION_DAYS: '0',
    AUDIT_RETENTION_ALLOW_SHORT: 'true',
    AUDIT_PARTITION_DAYS: '1',
  });
});

afterAll(async () => {
  await h?.close();
});

it('refuses a retention under 183 days unless explicitly allowed', () => {
  const env = { AUDIT_SIGNING_KEY: 'x', AUDIT_RETENTION_DAYS: '30' };
  expect(() => loadAuditConfig(env)).toThrow(/AUDIT_RETENTION_DAYS: must be at least 183/);
  expect(loadAuditConfig({ ...env, AUDIT_RETENTION_ALLOW_SHORT: 'true' }).AUDIT_RETENTION_DAYS).toBe(30);
  expect(loadAuditConfig({ AUDIT_SIGNING_KEY: 'x' }).AUDIT_RETENTION_DAYS).toBe(183);
});

it('purges expired records, records and checkpoints the purge, and the chain still verifies', async () => {
  // Five records of a day past the retention, in that day's partition.
  const partition = await createPastPartition(h, daysAgo(2));
  for (let i = 0; i < 5; i += 1) await appendAt(h, new Date(daysAgo(2).getTime() + i * 60_000), ['ret-a']);

  const purges = await h.app.get(RetentionService).purgeExpired();
  expect(purges.filter((p) => p.tenantId === 'ret-a')).toEqual([
    { tenantId: 'ret-a', partition, purgedCount: 5, throughSeq: 5, purgeRecordSeq: 6 },
  ]);
  expect(await storedCount(h, 'ret-a')).toBe(1);

  const { rows } = await h.db.query<{ event_type: string; content: string }>(
    `SELECT event_type, content FROM records WHERE tenant_id = 'ret-a' AND seq = 6`,
  );
  expect(rows[0]!.event_type).toBe('audit.retention.purged.v1');
  expect(JSON.parse(rows[0]!.content)).toMatchObject({
    purgedCount: 5,
    throughSeq: 5,
    retentionDays: 0,
    partition,
  });
  const checkpoints = await h.db.query(`SELECT 1 FROM checkpoints WHERE tenant_id = 'ret-a' AND seq = 6`);
  expect(checkpoints.rowCount).toBe(1);

  await publishTask(h, 'ret-a');
  await pollUntil(
    () => storedCount(h, 'ret-a'),
    (n) => n === 6,
    { what: 'new events after the purge' },
  );
  const report = (await auditHttp<VerifyReport>(h, '/v1/audit/verify?tenantId=ret-a')).body;
  expect(report).toMatchObject({ ok: true, purgedThroughSeq: 5, fromSeq: 6 });
  expect(report.checked).toBe(7);
});

it('keeps records past the cutoff in a partition not wholly expired: they go with it, whole', async () => {
  await publishTask(h, 'ret-c');
  await pollUntil(
    () => storedCount(h, 'ret-c'),
    (n) => n === 5,
    { what: 'stored events' },
  );
  const cutoffAfter = new Date(Date.now() + 10);
  await new Promise((r) => setTimeout(r, 20));
  const purges = await h.app.get(RetentionService).purgeExpired(cutoffAfter);
  expect(purges.filter((p) => p.tenantId === 'ret-c')).toEqual([]);
  expect(await storedCount(h, 'ret-c')).toBe(5);
});

it('finds records removed from the start of a chain without a purge', async () => {
  await publishTask(h, 'ret-b');
  await pollUntil(
    () => storedCount(h, 'ret-b'),
    (n) => n === 5,
    { what: 'stored events' },
  );
  const client = await h.db.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query(`DELETE FROM records WHERE tenant_id = 'ret-b' AND seq <= 2`);
    await client.query(`SET session_replication_role = origin`);
  } finally {
    client.release();
  }
  const report = (await auditHttp<VerifyReport>(h, '/v1/audit/verify?tenantId=ret-b')).body;
  expect(report.firstBrokenLink).toMatchObject({ seq: 1, reason: 'gap' });
});

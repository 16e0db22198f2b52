jest.setTimeout(120_000);

import { internalRecord } from '@deliberate/audit/chain/internal-record';
import { RecordAppender } from '@deliberate/audit/chain/record-appender';
import { CheckpointService } from '@deliberate/audit/checkpoints/checkpoint.service';
import { ChainVerifier } from '@deliberate/audit/verify/chain-verifier';
import { uuidv7, type VerifyReport } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { type AuditHarness, startAudit, storedCount } from './audit-harness';

// Appends by two writers at once (two replicas of the service, each through the owner's append function) and
// checkpoints signed meanwhile, while verify runs over and over: an honest chain under load never looks rewound or
// broken, and an event delivered to both writers is stored once.

let h: AuditHarness;

beforeAll(async () => {
  h = await startAudit('audit-verify-load');
});

afterAll(async () => {
  await h?.close();
});

it('verifies a chain as ok while two writers append to it and checkpoints are signed', async () => {
  const tenantId = 'load-a';
  const sql = h.app.get(Sql);
  const appender = h.app.get(RecordAppender);
  const checkpoints = h.app.get(CheckpointService);
  const verifier = h.app.get(ChainVerifier);
  const batches = 40;
  // Each batch is offered to both writers, as a redelivered Kafka batch would be.
  const eventIds = Array.from({ length: batches }, () => [uuidv7(), uuidv7(), uuidv7()]);
  const writer = async () => {
    for (const ids of eventIds) {
      await sql.transaction((tx) =>
        appender.append(
          tx,
          ids.map((eventId, n) => internalRecord(tenantId, 'test.appended.v1', { n }, { eventId })),
        ),
      );
    }
  };
  let writing = true;
  const reports: VerifyReport[] = [];
  const verifying = (async () => {
    while (writing) {
      reports.push(await verifier.verify(tenantId));
      await checkpoints.checkpointDue();
    }
  })();
  await Promise.all([writer(), writer()]).finally(() => {
    writing = false;
  });
  await verifying;
  reports.push(await verifier.verify(tenantId));

  expect(await storedCount(h, tenantId)).toBe(batches * 3);
  expect(reports.length).toBeGreaterThan(1);
  const failed = reports.filter((r) => !r.ok);
  expect(failed).toEqual([]);
  expect(reports.at(-1)).toMatchObject({ ok: true, headSeq: batches * 3, checked: batches * 3 });
});

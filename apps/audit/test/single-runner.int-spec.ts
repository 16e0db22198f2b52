jest.setTimeout(120_000);

import { CHECKPOINT_JOB } from '@deliberate/audit/checkpoints/checkpoint.service';
import { RETENTION_JOB } from '@deliberate/audit/retention/retention.service';
import {
  expectOneRunnerWhileHeld as expectOneRunnerWhileHeld_,
  pollUntil,
  totalJobRuns,
} from '@deliberate/testing';
import type { PoolClient } from 'pg';
import { type AuditHarness, startAudit, storedCount } from './audit-harness';
import { publishTask } from './fixtures';

// Two replicas of the audit service on one database. Checkpoints and the retention purge run every 100 ms on both,
// but one replica at a time: while the test holds up the run in progress, exactly one of the service's connections
// waits inside it, and the other replica skips its runs instead of starting a second one.

let h: AuditHarness;
const APP = 'deliberate-audit';

beforeAll(async () => {
  h = await startAudit(
    'audit-single-runner',
    { AUDIT_CHECKPOINT_INTERVAL_MS: '100', AUDIT_RETENTION_INTERVAL_MS: '100' },
    { instances: 2 },
  );
});

afterAll(async () => {
  await h?.close();
});

async function checkpointCount(tenantId: string): Promise<number> {
  const { rows } = await h.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM checkpoints WHERE tenant_id = $1`,
    [tenantId],
  );
  return Number(rows[0]!.n);
}

/** Waits for the tenant's whole chain to be checkpointed: then no checkpoint run has anything to do for it. */
async function checkpointedToHead(tenantId: string): Promise<void> {
  await pollUntil(
    async () =>
      (
        await h.db.query<{ done: boolean }>(
          `SELECT checkpointed_seq = last_seq AS done FROM chain_heads WHERE tenant_id = $1`,
          [tenantId],
        )
      ).rows[0]?.done ?? false,
    (done) => done,
    { what: `the chain of ${tenantId} checkpointed to its head` },
  );
}

async function storeTask(tenantId: string): Promise<void> {
  const before = await storedCount(h, tenantId);
  const { eventIds } = await publishTask(h, tenantId);
  await pollUntil(
    () => storedCount(h, tenantId),
    (n) => n >= before + eventIds.length,
    { what: `the task of ${tenantId} stored` },
  );
}

/** Runs `hold` in a transaction on a connection of its own and keeps it open until `release()`. */
async function holding(
  hold: (client: PoolClient) => Promise<unknown>,
): Promise<{ release(): Promise<void> }> {
  const client = await h.db.connect();
  await client.query('BEGIN');
  await hold(client);
  return {
    release: async () => {
      await client.query('COMMIT');
      client.release();
    },
  };
}

const expectOneRunnerWhileHeld = (job: string) =>
  expectOneRunnerWhileHeld_({ db: h.db, applicationName: APP, apps: h.apps, job });

it('signs checkpoints on one replica at a time; the other skips while a run is in progress', async () => {
  expect(h.apps).toHaveLength(2);
  await storeTask('single-ckpt');
  await checkpointedToHead('single-ckpt');
  const signedBefore = await checkpointCount('single-ckpt');

  // Inserting a checkpoint waits while the test holds the table: the run that found the grown head stays in progress.
  const held = await holding((c) => c.query('LOCK TABLE checkpoints IN SHARE MODE'));
  try {
    await storeTask('single-ckpt');
    await expectOneRunnerWhileHeld(CHECKPOINT_JOB);
  } finally {
    await held.release();
  }
  await pollUntil(
    () => checkpointCount('single-ckpt'),
    (n) => n > signedBefore,
    {
      what: 'the checkpoint of the grown head, once the table is free',
    },
  );
  expect((await totalJobRuns(h.apps, CHECKPOINT_JOB)).failed).toBe(0);
});

it('purges on one replica at a time; the other skips while a purge is in progress', async () => {
  await storeTask('single-purge');
  await checkpointedToHead('single-purge');

  // The purge locks each tenant's chain head first: holding one holds up the run that reaches it.
  const held = await holding((c) =>
    c.query(`SELECT 1 FROM chain_heads WHERE tenant_id = 'single-purge' FOR UPDATE`),
  );
  try {
    await expectOneRunnerWhileHeld(RETENTION_JOB);
  } finally {
    await held.release();
  }
  const ranBefore = (await totalJobRuns(h.apps, RETENTION_JOB)).ran;
  await pollUntil(
    () => totalJobRuns(h.apps, RETENTION_JOB),
    (runs) => runs.ran > ranBefore,
    { what: 'a purge run completed once the head is free' },
  );
  expect((await totalJobRuns(h.apps, RETENTION_JOB)).failed).toBe(0);
});

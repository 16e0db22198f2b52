jest.setTimeout(120_000);

import { LEDGER_SWEEP_JOB } from '@deliberate/ledger/sweeper/ledger-sweeper';
import { lockWaiters, pollUntil, totalJobRuns } from '@deliberate/testing';
import { type LedgerHarness, startLedger } from './ledger-harness';

// Two ledger replicas on one database, each sweeping every 100 ms: one sweeps at a time. While the test holds the
// reservations table, the sweep in progress waits inside its first step, and the other replica skips its runs.

let h: LedgerHarness;
const APP = 'deliberate-ledger';

beforeAll(async () => {
  h = await startLedger('ledger-single-runner', {
    instances: 2,
    env: { LEDGER_SWEEP_INTERVAL_MS: '100' },
  });
});

afterAll(async () => {
  await h?.close();
});

it('sweeps on one replica at a time; the other skips while a sweep is in progress', async () => {
  expect(h.apps).toHaveLength(2);
  await pollUntil(
    () => totalJobRuns(h.apps, LEDGER_SWEEP_JOB),
    (runs) => runs.ran >= 2,
    { what: 'sweeps running' },
  );

  // Claiming expired holds locks their rows, which waits while the test holds the table in EXCLUSIVE mode.
  const client = await h.db.connect();
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE reservations IN EXCLUSIVE MODE');
    await pollUntil(
      () => lockWaiters(h.db, APP),
      (n) => n >= 1,
      { what: 'a sweep waiting on the table' },
    );
    const before = await totalJobRuns(h.apps, LEDGER_SWEEP_JOB);
    const waiters: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      waiters.push(await lockWaiters(h.db, APP));
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await totalJobRuns(h.apps, LEDGER_SWEEP_JOB);
    expect(waiters).toEqual(Array(10).fill(1));
    expect(after.ran).toBe(before.ran);
    expect(after.skipped - before.skipped).toBeGreaterThanOrEqual(5);
  } finally {
    await client.query('COMMIT');
    client.release();
  }
  const ranBefore = (await totalJobRuns(h.apps, LEDGER_SWEEP_JOB)).ran;
  await pollUntil(
    () => totalJobRuns(h.apps, LEDGER_SWEEP_JOB),
    (runs) => runs.ran > ranBefore,
    { what: 'sweeps completing once the table is free' },
  );
  expect((await totalJobRuns(h.apps, LEDGER_SWEEP_JOB)).failed).toBe(0);
});

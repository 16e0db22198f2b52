jest.setTimeout(120_000);

import { LEDGER_SWEEP_JOB } from '@deliberate/ledger/sweeper/ledger-sweeper';
import { expectOneRunnerWhileHeld, pollUntil, totalJobRuns } from '@deliberate/testing';
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
    await expectOneRunnerWhileHeld({ db: h.db, applicationName: APP, apps: h.apps, job: LEDGER_SWEEP_JOB });
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

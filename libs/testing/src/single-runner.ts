import { ServiceMetrics } from '@deliberate/metrics';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import { pollUntil } from './poll';
import { parsePrometheusText } from './prometheus-text';

// What a suite needs to show that a periodic job runs on one replica at a time: how each instance's runs of it
// ended, and how many of a service's connections wait on a lock the test holds.

export interface JobRunCounts {
  ran: number;
  skipped: number;
  failed: number;
}

/** The runs of `job` one instance has counted (deliberate.jobs.runs), read from its own registry. */
export async function jobRunCounts(app: INestApplication, job: string): Promise<JobRunCounts> {
  const counts: JobRunCounts = { ran: 0, skipped: 0, failed: 0 };
  for (const s of parsePrometheusText(await app.get(ServiceMetrics).render())) {
    if (s.name !== 'deliberate_jobs_runs_total' || s.labels['deliberate_job_name'] !== job) continue;
    const outcome = s.labels['outcome'];
    if (outcome === 'ran' || outcome === 'skipped' || outcome === 'failed') counts[outcome] += s.value;
  }
  return counts;
}

/** The runs of `job` counted by every instance, added up. */
export async function totalJobRuns(apps: readonly INestApplication[], job: string): Promise<JobRunCounts> {
  const all = await Promise.all(apps.map((app) => jobRunCounts(app, job)));
  return all.reduce(
    (sum, c) => ({ ran: sum.ran + c.ran, skipped: sum.skipped + c.skipped, failed: sum.failed + c.failed }),
    { ran: 0, skipped: 0, failed: 0 },
  );
}

/** Connections of `applicationName` to the database `db` is on that wait for a heavyweight lock (a table or a row
 * another session holds). Other databases' are not counted: suites running alongside have their own. */
export async function lockWaiters(db: Pool, applicationName: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND wait_event_type = 'Lock'`,
    [applicationName],
  );
  return Number(rows[0]!.n);
}

/**
 * While a test holds up the run of `job` in progress (a lock its work waits on): exactly one connection of the
 * service waits, for a whole second, no run completes or fails, and the replicas without the job's lock skip theirs.
 */
export async function expectOneRunnerWhileHeld(options: {
  db: Pool;
  applicationName: string;
  apps: readonly INestApplication[];
  job: string;
}): Promise<void> {
  const { db, applicationName, apps, job } = options;
  await pollUntil(
    () => lockWaiters(db, applicationName),
    (n) => n >= 1,
    { what: `a ${job} run waiting on the test's lock` },
  );
  const before = await totalJobRuns(apps, job);
  const waiters: number[] = [];
  for (let i = 0; i < 10; i += 1) {
    waiters.push(await lockWaiters(db, applicationName));
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = await totalJobRuns(apps, job);
  expect(waiters).toEqual(Array(10).fill(1));
  expect(after.ran).toBe(before.ran);
  expect(after.failed).toBe(before.failed);
  // Ten intervals of the replicas that do not hold the job's lock, give or take the jitter.
  expect(after.skipped - before.skipped).toBeGreaterThanOrEqual(5);
}

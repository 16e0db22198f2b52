jest.setTimeout(120_000);

import { pollUntil } from '@deliberate/testing';
import { type AuditHarness, startAudit, storedCount } from './audit-harness';
import { publishTask } from './fixtures';

// Postgres restarting ends every connection of the audit service with 57P01, including one its checkpoint job holds
// idle in its lock's transaction: the service stays up and stores what arrives once the database answers again.

let h: AuditHarness;

beforeAll(async () => {
  // A checkpoint every 100 ms: its lock transaction is open most of the time the connections are ended.
  h = await startAudit('audit-db-restart', { AUDIT_CHECKPOINT_INTERVAL_MS: '100' });
});

afterAll(async () => {
  await h?.close();
});

// What a restart does to the service's sessions: every backend of the writer role ends with admin shutdown. Only
// this suite's database: suites running alongside keep theirs.
const terminateAuditSessions = () =>
  h.db.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name = 'deliberate-audit' AND datname = current_database() AND pid <> pg_backend_pid()`,
  );

it('survives its connections being terminated again and again, and ingests again afterwards', async () => {
  // Many chains: each checkpoint run signs one per chain while its lock transaction waits, idle.
  const tenants = Array.from({ length: 60 }, (_, i) => `restart-before-${i}`);
  const published = await Promise.all(tenants.map((t) => publishTask(h, t)));
  await pollUntil(
    async () => (await Promise.all(tenants.map((t) => storedCount(h, t)))).reduce((a, b) => a + b, 0),
    (n) => n === published.reduce((sum, p) => sum + p.eventIds.length, 0),
    { what: 'the events before the restart stored', timeoutMs: 60_000 },
  );

  for (let i = 0; i < 40; i += 1) {
    await terminateAuditSessions();
    await new Promise((r) => setTimeout(r, 25 + (i % 4) * 20));
  }

  const after = await publishTask(h, 'restart-after');
  await pollUntil(
    () => storedCount(h, 'restart-after'),
    (n) => n === after.eventIds.length,
    { what: 'the events after the restart stored', timeoutMs: 60_000 },
  );
  const { rows } = await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM checkpoints`);
  expect(Number(rows[0]!.n)).toBeGreaterThan(0);
});

jest.setTimeout(120_000);

import { RetentionService } from '@deliberate/audit/retention/retention.service';
import { ChainVerifier } from '@deliberate/audit/verify/chain-verifier';
import { taskAcceptedEvent, uuidv7 } from '@deliberate/contracts';
import { pollUntil } from '@deliberate/testing';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import {
  appendAt as appendRecordsAt,
  type AuditHarness,
  createPastPartition,
  partitionName,
  startAudit,
  storedCount,
} from './audit-harness';

// The records table is partitioned by recording time (UTC days): retention drops whole expired partitions through
// the owner's function, recording one purge per tenant, and leaves the partition that straddles the cutoff whole
// until it has expired; the chains still verify. The writer role cannot drop or detach a partition itself.

const DAY_MS = 86_400_000;
let h: AuditHarness;

beforeAll(async () => {
  h = await startAudit('audit-partitions', {
    AUDIT_RETENTION_DAYS: '0',
    AUDIT_RETENTION_ALLOW_SHORT: 'true',
    AUDIT_PARTITION_DAYS: '1',
  });
});

afterAll(async () => {
  await h?.close();
});

const utcDay = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS);
const today = utcDay(Date.now());
const daysAgo = (n: number) => new Date(today.getTime() - n * DAY_MS);
const pastPartition = (from: Date) => createPastPartition(h, from);
const appendAt = (at: Date, tenants: string[]) => appendRecordsAt(h, at, tenants);

const partitionOf = async (tenantId: string) =>
  (
    await h.db.query<{ seq: string; partition: string }>(
      `SELECT seq, tableoid::regclass::text AS partition FROM records WHERE tenant_id = $1 ORDER BY seq`,
      [tenantId],
    )
  ).rows.map((r) => [Number(r.seq), r.partition]);

const exists = async (table: string) =>
  (await h.db.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [table])).rows[0]!.t !== null;

function writerClient(): Client {
  return new Client({
    connectionString: h.databaseUrl.replace('postgres@', `${h.config.AUDIT_DATABASE_ROLE}@`),
    options: '-c search_path=audit',
  });
}

it('creates the partitions of today and the next periods at start-up, and a default one', async () => {
  const { rows } = await h.db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'audit.records'::regclass ORDER BY c.relname`,
  );
  const names = rows.map((r) => r.name);
  for (const day of [0, 1, 2])
    expect(names).toContain(partitionName(new Date(today.getTime() + day * DAY_MS)));
  expect(names).toContain('records_default');
  // The retention job, as the writer role, finds them there and creates nothing more.
  expect(await h.app.get(RetentionService).ensurePartitions()).toEqual([]);
});

it('stores each record in the partition of its recording time', async () => {
  const old = await pastPartition(daysAgo(20));
  await appendAt(new Date(daysAgo(20).getTime() + 3_600_000), ['part-place']);
  await appendAt(new Date(), ['part-place']);
  expect(await partitionOf('part-place')).toEqual([
    [1, old],
    [2, partitionName(today)],
  ]);
});

it('keeps in the default partition what no partition covers, and starts the next partition after it', async () => {
  // Partitions exist up to the end of today + 2 (start-up); a clock a day ahead of that records past them.
  const ahead = new Date(today.getTime() + 3 * DAY_MS + 3_600_000);
  await appendAt(ahead, ['part-ahead']);
  expect(await partitionOf('part-ahead')).toEqual([[1, 'records_default']]);
  await h.db.query(`UPDATE settings SET partition_days = 2`);
  try {
    await h.db.query(`SELECT ensure_record_partitions(now() + interval '6 days')`);
  } finally {
    await h.db.query(`UPDATE settings SET partition_days = 1`);
  }
  expect(await exists(`audit.${partitionName(new Date(today.getTime() + 3 * DAY_MS))}`)).toBe(false);
  expect(await exists(`audit.${partitionName(new Date(today.getTime() + 4 * DAY_MS))}`)).toBe(true);
  expect(await partitionOf('part-ahead')).toEqual([[1, 'records_default']]);
});

it('keeps recording times monotonic along a chain, whatever the clock says', async () => {
  await appendAt(new Date(), ['part-clock']);
  await appendAt(new Date(Date.now() - 30 * DAY_MS), ['part-clock']);
  const { rows } = await h.db.query<{ recorded_at: Date }>(
    `SELECT recorded_at FROM records WHERE tenant_id = 'part-clock' ORDER BY seq`,
  );
  expect(rows[1]!.recorded_at.getTime()).toBeGreaterThanOrEqual(rows[0]!.recorded_at.getTime());
  expect((await h.app.get(ChainVerifier).verify('part-clock')).ok).toBe(true);
});

it("records a chain behind a later clock at that chain's last time, and the chains written with it at the clock's", async () => {
  const later = new Date(Date.now() + 2 * 3_600_000);
  await appendAt(later, ['part-later']);
  const now = new Date();
  await appendAt(now, ['part-later', 'part-beside']);
  const { rows } = await h.db.query<{ tenant_id: string; recorded_at: Date }>(
    `SELECT tenant_id, recorded_at FROM records WHERE tenant_id IN ('part-later', 'part-beside') ORDER BY tenant_id, seq`,
  );
  expect(rows.map((r) => [r.tenant_id, r.recorded_at.getTime()])).toEqual([
    ['part-beside', now.getTime()],
    ['part-later', later.getTime()],
    ['part-later', later.getTime()],
  ]);
  for (const tenantId of ['part-later', 'part-beside']) {
    expect((await h.app.get(ChainVerifier).verify(tenantId)).ok).toBe(true);
  }
});

it('drops whole expired partitions, leaves the one across the cutoff whole, one purge record per tenant, and the chains verify', async () => {
  const [p10, p9, p8] = [
    await pastPartition(daysAgo(10)),
    await pastPartition(daysAgo(9)),
    await pastPartition(daysAgo(8)),
  ];
  const at = (day: number, hours: number) => new Date(daysAgo(day).getTime() + hours * 3_600_000);
  await appendAt(at(10, 1), ['part-a', 'part-b']); // a1 b1
  await appendAt(at(10, 2), ['part-a']); // a2
  await appendAt(at(9, 1), ['part-a']); // a3
  await appendAt(at(9, 2), ['part-a']); // a4
  await appendAt(at(8, 6), ['part-a', 'part-b']); // a5 b2
  await appendAt(at(8, 18), ['part-a', 'part-b']); // a6 b3

  const results = await h.app.get(RetentionService).purgeExpired(at(8, 12));

  const mine = results.filter((r) => r.tenantId.startsWith('part-a') || r.tenantId.startsWith('part-b'));
  expect(mine).toEqual([
    expect.objectContaining({ tenantId: 'part-a', partition: p10, purgedCount: 2, throughSeq: 2 }),
    expect.objectContaining({ tenantId: 'part-b', partition: p10, purgedCount: 1, throughSeq: 1 }),
    expect.objectContaining({ tenantId: 'part-a', partition: p9, purgedCount: 2, throughSeq: 4 }),
  ]);
  expect(await exists(`audit.${p10}`)).toBe(false);
  expect(await exists(`audit.${p9}`)).toBe(false);
  // The partition across the cutoff stays whole, its records before the cutoff too, until it expires entirely.
  expect(await exists(`audit.${p8}`)).toBe(true);
  expect((await partitionOf('part-a')).filter(([, p]) => p === p8)).toEqual([
    [5, p8],
    [6, p8],
  ]);
  expect((await partitionOf('part-b')).filter(([, p]) => p === p8)).toEqual([
    [2, p8],
    [3, p8],
  ]);

  const purges = await h.db.query<{ tenant_id: string; content: string }>(
    `SELECT tenant_id, content FROM records WHERE tenant_id IN ('part-a', 'part-b')
        AND event_type = 'audit.retention.purged.v1' ORDER BY tenant_id, seq`,
  );
  expect(
    purges.rows.map((r) => {
      const c = JSON.parse(r.content) as { purgedCount: number; throughSeq: number };
      return [r.tenant_id, c.purgedCount, c.throughSeq];
    }),
  ).toEqual([
    ['part-a', 2, 2],
    ['part-a', 2, 4],
    ['part-b', 1, 1],
  ]);
  for (const [tenantId, purgedThroughSeq] of [
    ['part-a', 4],
    ['part-b', 1],
  ] as const) {
    expect(await h.app.get(ChainVerifier).verify(tenantId)).toMatchObject({
      ok: true,
      purgedThroughSeq,
      firstBrokenLink: null,
    });
  }
});

it('refuses to drop a partition holding a tenant whose earlier records lie in a later one', async () => {
  const p15 = await pastPartition(daysAgo(15));
  const p14 = await pastPartition(daysAgo(14));
  // A record written out of time order (before recording times were kept monotonic): seq 1 in the later partition.
  await appendAt(new Date(daysAgo(14).getTime() + 3_600_000), ['part-skew']);
  await h.db.query(
    `INSERT INTO records (tenant_id, seq, event_id, event_type, source, occurred_at, recorded_at, content, prev_hash,
                          content_hash, record_hash)
     SELECT 'part-skew', 2, 'skewed', 't', 's', now(), $1, '{}', last_hash, '\\x00', sha256(last_hash || '\\x00')
       FROM chain_heads WHERE tenant_id = 'part-skew'`,
    [new Date(daysAgo(15).getTime() + 3_600_000)],
  );
  await h.db.query(
    `UPDATE chain_heads SET last_seq = 2, last_hash = (SELECT record_hash FROM records WHERE tenant_id = 'part-skew' AND seq = 2)
      WHERE tenant_id = 'part-skew'`,
  );
  const writer = writerClient();
  await writer.connect();
  try {
    await expect(writer.query(`SELECT * FROM drop_expired_partition($1, now())`, [p15])).rejects.toThrow(
      /earlier records/,
    );
  } finally {
    await writer.end();
  }
  expect(await exists(`audit.${p15}`)).toBe(true);
  expect(await exists(`audit.${p14}`)).toBe(true);
});

it('lets the writer role neither drop nor detach a partition, nor drop one inside the retention floor', async () => {
  const p5 = await pastPartition(daysAgo(5));
  await appendAt(new Date(daysAgo(5).getTime() + 3_600_000), ['part-hostile']);
  const writer = writerClient();
  await writer.connect();
  try {
    await expect(writer.query(`DROP TABLE ${p5}`)).rejects.toThrow(/must be owner/);
    await expect(writer.query(`ALTER TABLE records DETACH PARTITION ${p5}`)).rejects.toThrow(/must be owner/);
    await expect(writer.query(`TRUNCATE ${p5}`)).rejects.toThrow(/permission denied/);
    await expect(writer.query(`DELETE FROM ${p5}`)).rejects.toThrow(/permission denied/);
    // Not entirely before the cutoff asked for.
    await expect(
      writer.query(`SELECT * FROM drop_expired_partition($1, $2)`, [p5, daysAgo(5)]),
    ).rejects.toThrow(/not entirely before/);
    await expect(
      writer.query(`SELECT * FROM drop_expired_partition($1, now())`, [partitionName(today)]),
    ).rejects.toThrow(/not entirely before/);
    await expect(
      writer.query(`SELECT * FROM drop_expired_partition('records_default', now())`),
    ).rejects.toThrow(/not a time partition/);
    await h.db.query(`UPDATE settings SET retention_floor_days = 30`);
    try {
      await expect(writer.query(`SELECT * FROM drop_expired_partition($1, now())`, [p5])).rejects.toThrow(
        /retention floor/,
      );
    } finally {
      await h.db.query(`UPDATE settings SET retention_floor_days = 0`);
    }
  } finally {
    await writer.end();
  }
  // The owner is held back by the append-only triggers of the partitions too (the ones the service creates).
  await expect(h.db.query(`TRUNCATE ${partitionName(today)}`)).rejects.toThrow(/append-only/);
  await expect(h.db.query(`TRUNCATE records_default`)).rejects.toThrow(/append-only/);
  await expect(h.db.query(`DELETE FROM ${p5}`)).rejects.toThrow(/append-only/);
  expect(await storedCount(h, 'part-hostile')).toBe(1);
});

it('stores a redelivered event once, and the append function refuses an event id already stored', async () => {
  const id = uuidv7();
  const spec = {
    input: 'twice',
    context: [],
    mode: 'auto' as const,
    latencyBudgetMs: null,
    maxCostMicroUsd: null,
    webhookUrl: null,
    metadata: {},
  };
  for (let i = 0; i < 2; i += 1) {
    await h.publish(taskAcceptedEvent, {
      tenantId: 'part-replay',
      taskId: uuidv7(),
      id,
      data: { spec, submittedVia: 'kafka', acceptedAt: new Date().toISOString() },
    });
  }
  await appendAt(new Date(), ['part-replay']);
  await pollUntil(
    () => storedCount(h, 'part-replay'),
    (n) => n === 2,
    { what: 'the event and the marker' },
  );
  await new Promise((r) => setTimeout(r, 500));
  expect(await storedCount(h, 'part-replay')).toBe(2);

  // Straight to the function, as a buggy service would: a record that extends the head but repeats an event id.
  const head = (
    await h.db.query<{ last_seq: string; last_hash: Buffer }>(
      `SELECT last_seq, last_hash FROM chain_heads WHERE tenant_id = 'part-replay'`,
    )
  ).rows[0]!;
  const contentHash = Buffer.alloc(32, 1);
  const recordHash = createHash('sha256')
    .update(Buffer.concat([head.last_hash, contentHash]))
    .digest();
  const writer = writerClient();
  await writer.connect();
  try {
    await expect(
      writer.query(
        `SELECT append_records(ARRAY['part-replay'], ARRAY[$1::bigint], ARRAY[$2], ARRAY['t'], ARRAY['s'],
                               ARRAY[NULL::uuid], ARRAY[now()], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL],
                               ARRAY['{}'::jsonb], ARRAY['{}'], ARRAY[NULL], ARRAY[$3::bytea], ARRAY[$4::bytea],
                               ARRAY[$5::bytea], now())`,
        [Number(head.last_seq) + 1, id, head.last_hash, contentHash, recordHash],
      ),
    ).rejects.toThrow(/already stored/);
  } finally {
    await writer.end();
  }
  expect(await storedCount(h, 'part-replay')).toBe(2);
});

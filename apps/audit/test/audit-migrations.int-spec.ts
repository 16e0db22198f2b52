jest.setTimeout(60_000);

import { CreateAuditTables1795800000000 } from '@deliberate/audit/migrations/1795800000000-create-audit-tables';
import { RestrictChainWrites1796500000000 } from '@deliberate/audit/migrations/1796500000000-restrict-chain-writes';
import { AUDIT_MIGRATIONS } from '@deliberate/audit/persistence/audit-database';
import { openDataSource } from '@deliberate/persistence';
import { createTestDatabase } from '@deliberate/testing';
import { createHash, randomBytes } from 'node:crypto';

// The restriction of chain writes is reversible: undone, the purge is the former one (the session setting as its
// flag) and the functions and permits are gone; done again, a purge still deletes under its permit, and nothing else.
it('undoes and redoes the restriction of chain writes, the purge working on either side', async () => {
  const database = await createTestDatabase('audit_migrations');
  const dataSource = await openDataSource({
    databaseUrl: database.url,
    schema: 'audit',
    entities: [],
    migrations: [CreateAuditTables1795800000000, RestrictChainWrites1796500000000],
    poolSize: 2,
  });
  const functions = async () =>
    (
      await dataSource.query<{ proname: string }[]>(
        `SELECT proname FROM pg_proc WHERE pronamespace = 'audit'::regnamespace ORDER BY proname`,
      )
    ).map((r) => r.proname);
  // Two old records of a tenant, written as the owner with the triggers as they are.
  const seed = async (tenantId: string) => {
    await dataSource.query(`INSERT INTO chain_heads (tenant_id, last_seq) VALUES ($1, 2)`, [tenantId]);
    await dataSource.query(
      `INSERT INTO records (tenant_id, seq, event_id, event_type, source, occurred_at, recorded_at, content, prev_hash,
                            content_hash, record_hash)
       SELECT $1, s, 'e' || s, 't', 's', now(), now() - interval '1 day', '{}', '\\x00', '\\x00', '\\x00'
         FROM generate_series(1, 2) s`,
      [tenantId],
    );
  };
  const purge = (tenantId: string) =>
    dataSource.query<{ purged: string }[]>(`SELECT purged FROM purge_expired($1, now())`, [tenantId]);
  try {
    await dataSource.query(`UPDATE settings SET retention_floor_days = 0`);
    await dataSource.undoLastMigration();
    expect(await functions()).toEqual(['purge_expired', 'reject_change']);
    await seed('before');
    expect(await purge('before')).toEqual([{ purged: '2' }]);

    expect(await dataSource.runMigrations()).toHaveLength(1);
    expect(await functions()).toEqual([
      'add_checkpoint',
      'append_records',
      'chain_head_moves_forward',
      'lock_chain_heads',
      'mark_purge_recorded',
      'purge_expired',
      'reject_change',
    ]);
    await seed('after');
    // The former flag opens nothing any more; the purge's own permit does.
    await expect(
      dataSource.transaction(async (m) => {
        await m.query(`SELECT set_config('audit.purging', 'on', true)`);
        await m.query(`DELETE FROM records WHERE tenant_id = 'after'`);
      }),
    ).rejects.toThrow(/append-only/);
    await expect(
      dataSource.query(`UPDATE chain_heads SET last_seq = 1 WHERE tenant_id = 'after'`),
    ).rejects.toThrow(/only move forward/);
    expect(await purge('after')).toEqual([{ purged: '2' }]);
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM purge_permits`)).toEqual([{ n: 0 }]);
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
});

// Partitioning keeps the rows of the existing table where they are (attached as one partition): every row and every
// link of the chains is the same before, after, and after undoing it.
it('partitions a records table that holds chains, keeping every row and link, and undoes it', async () => {
  const database = await createTestDatabase('audit_migrations_partition');
  const dataSource = await openDataSource({
    databaseUrl: database.url,
    schema: 'audit',
    entities: [],
    migrations: AUDIT_MIGRATIONS,
    poolSize: 2,
  });
  const heads = new Map<string, { seq: number; hash: Buffer }>();
  // Appends one record through the append function, as the service does, recorded at the given SQL time.
  const append = async (tenantId: string, recordedAt: string) => {
    const head = heads.get(tenantId) ?? { seq: 0, hash: Buffer.alloc(32) };
    const contentHash = randomBytes(32);
    const hash = createHash('sha256')
      .update(Buffer.concat([head.hash, contentHash]))
      .digest();
    await dataSource.query(`SELECT lock_chain_heads(ARRAY[$1])`, [tenantId]);
    await dataSource.query(
      `SELECT append_records(ARRAY[$1], ARRAY[$2::bigint], ARRAY[$3], ARRAY['t'], ARRAY['s'], ARRAY[NULL::uuid],
                             ARRAY[now()], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL], ARRAY['{}'::jsonb],
                             ARRAY['{}'], ARRAY['some text'], ARRAY[$4::bytea], ARRAY[$5::bytea], ARRAY[$6::bytea],
                             ${recordedAt})`,
      [tenantId, head.seq + 1, `e${head.seq + 1}`, head.hash, contentHash, hash],
    );
    heads.set(tenantId, { seq: head.seq + 1, hash });
  };
  const snapshot = async () =>
    (
      await dataSource.query<{ digest: string; n: number }[]>(
        `SELECT md5(string_agg(r::text, '|' ORDER BY tenant_id, seq)) AS digest, count(*)::int AS n FROM records r`,
      )
    )[0]!;
  const brokenLinks = async () =>
    (
      await dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM records r
           LEFT JOIN records p ON p.tenant_id = r.tenant_id AND p.seq = r.seq - 1
          WHERE r.record_hash <> sha256(r.prev_hash || r.content_hash)
             OR r.prev_hash <> coalesce(p.record_hash, '\\x${'00'.repeat(32)}')`,
      )
    )[0]!.n;
  const relkind = async () =>
    (
      await dataSource.query<{ k: string }[]>(
        `SELECT relkind::text AS k FROM pg_class WHERE oid = 'records'::regclass`,
      )
    )[0]!.k;
  try {
    await dataSource.undoLastMigration();
    for (const day of [3, 2]) {
      for (const tenantId of ['m-a', 'm-b']) await append(tenantId, `now() - interval '${day} days'`);
    }
    const before = await snapshot();
    expect(before.n).toBe(4);
    expect(await brokenLinks()).toBe(0);

    expect(await dataSource.runMigrations()).toHaveLength(1);
    expect(await relkind()).toBe('p');
    expect(await snapshot()).toEqual(before);
    expect(await brokenLinks()).toBe(0);
    const partitions = await dataSource.query<{ name: string; from_at: Date | null }[]>(
      `SELECT name, from_at FROM record_partitions()`,
    );
    expect(partitions).toEqual([{ name: 'records_legacy', from_at: null }]);
    // Its former indexes serve the parent's (none built twice): key, event, task, time, metadata, search.
    expect(
      await dataSource.query(
        `SELECT count(*)::int AS n FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indexrelid
          WHERE i.indrelid = 'records_legacy'::regclass`,
      ),
    ).toEqual([{ n: 6 }]);
    expect(
      await dataSource.query(
        `SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'records_legacy'::regclass`,
      ),
    ).toEqual([{ n: 6 }]);
    expect(
      await dataSource.query(`SELECT count(*)::int AS n FROM chain_heads WHERE last_recorded_at IS NULL`),
    ).toEqual([{ n: 0 }]);
    // The chains go on in the partitions ahead; an append recorded before a chain's last record is refused.
    await dataSource.query(`SELECT ensure_record_partitions(now() + interval '7 days')`);
    for (const tenantId of ['m-a', 'm-b']) await append(tenantId, `now() + interval '2 days'`);
    await expect(append('m-a', `now() - interval '1 day'`)).rejects.toThrow(/before its last record/);
    expect(
      await dataSource.query(
        `SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM records GROUP BY 1 ORDER BY 1`,
      ),
    ).toEqual([
      { partition: 'records_legacy', n: 4 },
      { partition: expect.stringMatching(/^records_p\d{8}$/), n: 2 },
    ]);
    const partitioned = await snapshot();

    await dataSource.undoLastMigration();
    expect(await relkind()).toBe('r');
    expect(await snapshot()).toEqual(partitioned);
    expect(await brokenLinks()).toBe(0);
    await expect(
      dataSource.query(`INSERT INTO records SELECT * FROM records WHERE tenant_id = 'm-a' AND seq = 1`),
    ).rejects.toThrow(/records_pkey|records_tenant_event/);

    expect(await dataSource.runMigrations()).toHaveLength(1);
    expect(await snapshot()).toEqual(partitioned);
    expect(await brokenLinks()).toBe(0);
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
});

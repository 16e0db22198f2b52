jest.setTimeout(60_000);

import { CreateAuditTables1795800000000 } from '@deliberate/audit/migrations/1795800000000-create-audit-tables';
import { RestrictChainWrites1796500000000 } from '@deliberate/audit/migrations/1796500000000-restrict-chain-writes';
import { openDataSource } from '@deliberate/persistence';
import { createTestDatabase } from '@deliberate/testing';

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

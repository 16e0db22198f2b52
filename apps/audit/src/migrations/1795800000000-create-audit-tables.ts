import type { MigrationInterface, QueryRunner } from 'typeorm';

// The audit store: one hash chain per tenant (seq, prev_hash, content_hash, record_hash), its head (locked by every
// append, so appends of one tenant are serialised across instances), signed checkpoints, and the one path that may
// delete records (the retention purge). The service's own role gets its privileges at start-up (audit-database.ts).
export class CreateAuditTables1795800000000 implements MigrationInterface {
  name = 'CreateAuditTables1795800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE records (
        tenant_id text NOT NULL,
        seq bigint NOT NULL CHECK (seq > 0),
        event_id text NOT NULL,
        event_type text NOT NULL,
        source text NOT NULL,
        task_id uuid,
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        route text,
        model text,
        status text,
        decision text,
        -- Derived from the content at ingest for filtering; the content itself is what the hash covers.
        metadata jsonb NOT NULL DEFAULT '{}',
        -- Canonical JSON of the stored event data (redacted; encrypted fields for configured tenants).
        content text NOT NULL,
        search tsvector,
        prev_hash bytea NOT NULL,
        content_hash bytea NOT NULL,
        record_hash bytea NOT NULL,
        PRIMARY KEY (tenant_id, seq)
      )`);
    // Idempotency: an event is stored once per tenant chain, whatever the redelivery.
    await q.query(`CREATE UNIQUE INDEX records_tenant_event ON records (tenant_id, event_id)`);
    // A task's timeline.
    await q.query(`CREATE INDEX records_task ON records (task_id, occurred_at) WHERE task_id IS NOT NULL`);
    // Time-range pages and exports, in the keyset order of the cursor.
    await q.query(`CREATE INDEX records_tenant_time ON records (tenant_id, occurred_at, seq)`);
    await q.query(
      `CREATE INDEX records_metadata ON records USING gin (metadata jsonb_path_ops) WHERE metadata <> '{}'`,
    );
    await q.query(`CREATE INDEX records_search ON records USING gin (search) WHERE search IS NOT NULL`);

    await q.query(`
      CREATE TABLE chain_heads (
        tenant_id text PRIMARY KEY,
        last_seq bigint NOT NULL DEFAULT 0,
        last_hash bytea NOT NULL DEFAULT '\\x0000000000000000000000000000000000000000000000000000000000000000',
        -- Records up to here were removed by retention; the first remaining one links to purged_through_hash.
        purged_through_seq bigint NOT NULL DEFAULT 0,
        purged_through_hash bytea,
        -- The purge record that states the above, so a verifier can check the head against the chain.
        last_purge_seq bigint,
        checkpointed_seq bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE checkpoints (
        tenant_id text NOT NULL,
        seq bigint NOT NULL,
        record_hash bytea NOT NULL,
        signed_at timestamptz NOT NULL,
        key_id text NOT NULL,
        -- Ed25519 over the canonical JSON {at, recordHash, seq, tenantId}.
        signature bytea NOT NULL,
        PRIMARY KEY (tenant_id, seq)
      )`);

    await q.query(`
      CREATE TABLE settings (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        retention_floor_days int NOT NULL CHECK (retention_floor_days >= 0)
      )`);
    await q.query(`INSERT INTO settings (retention_floor_days) VALUES (183)`);

    // Append-only: no role may change or remove a record or checkpoint, except the purge below.
    await q.query(`
      CREATE FUNCTION reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'records' AND current_setting('audit.purging', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit % are append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['records', 'checkpoints']) {
      await q.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION reject_change()`,
      );
      await q.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION reject_change()`,
      );
    }

    // The only way to delete records: a prefix of one tenant's chain older than the cutoff, never inside the
    // retention floor. Runs as the owner; the caller records the purge in the chain in the same transaction.
    await q.query(`
      CREATE FUNCTION purge_expired(p_tenant text, p_cutoff timestamptz)
      RETURNS TABLE (purged bigint, through_seq bigint, through_hash bytea)
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
      DECLARE
        v_floor int;
        v_from bigint;
        v_last bigint;
        v_through bigint;
        v_hash bytea;
        v_count bigint;
      BEGIN
        SELECT retention_floor_days INTO v_floor FROM settings;
        IF p_cutoff > now() - make_interval(days => v_floor) THEN
          RAISE EXCEPTION 'cutoff % is inside the retention floor of % days', p_cutoff, v_floor
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        SELECT h.purged_through_seq, h.last_seq INTO v_from, v_last FROM chain_heads h WHERE h.tenant_id = p_tenant FOR UPDATE;
        IF NOT FOUND THEN
          RETURN QUERY SELECT 0::bigint, 0::bigint, NULL::bytea;
          RETURN;
        END IF;
        SELECT r.seq - 1 INTO v_through FROM records r
         WHERE r.tenant_id = p_tenant AND r.seq > v_from AND r.recorded_at >= p_cutoff ORDER BY r.seq LIMIT 1;
        IF v_through IS NULL THEN v_through := v_last; END IF;
        IF v_through <= v_from THEN
          RETURN QUERY SELECT 0::bigint, v_from, NULL::bytea;
          RETURN;
        END IF;
        SELECT r.record_hash INTO v_hash FROM records r WHERE r.tenant_id = p_tenant AND r.seq = v_through;
        PERFORM set_config('audit.purging', 'on', true);
        DELETE FROM records r WHERE r.tenant_id = p_tenant AND r.seq > v_from AND r.seq <= v_through;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        PERFORM set_config('audit.purging', 'off', true);
        UPDATE chain_heads h SET purged_through_seq = v_through, purged_through_hash = v_hash WHERE h.tenant_id = p_tenant;
        RETURN QUERY SELECT v_count, v_through, v_hash;
      END $$`);
    await q.query(`REVOKE ALL ON FUNCTION purge_expired(text, timestamptz) FROM PUBLIC`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION purge_expired(text, timestamptz)`);
    await q.query(`DROP TABLE settings, checkpoints, chain_heads, records`);
    await q.query(`DROP FUNCTION reject_change()`);
  }
}

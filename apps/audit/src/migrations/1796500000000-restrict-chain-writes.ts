import type { MigrationInterface, QueryRunner } from 'typeorm';

// The writer role changes the chains only through functions that run as the schema's owner (SECURITY DEFINER):
// lock_chain_heads and append_records (an append must extend the head: the next seq, linked to the head's hash),
// add_checkpoint, mark_purge_recorded and purge_expired. It is granted no UPDATE, DELETE or INSERT on any table
// (writer-role.repository.ts). A delete of records is allowed by the append-only trigger only under a purge permit,
// a row of purge_permits that only purge_expired writes, for its own transaction and chain prefix: the session
// setting audit.purging, which any role could set, is no longer read. Chain heads only move forward.
export class RestrictChainWrites1796500000000 implements MigrationInterface {
  name = 'RestrictChainWrites1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE purge_permits (
        xact_id xid8 NOT NULL,
        tenant_id text NOT NULL,
        through_seq bigint NOT NULL,
        PRIMARY KEY (xact_id, tenant_id)
      )`);
    // Read by the append-only trigger as whoever deletes; a permit lives only inside the purge's transaction.
    await q.query(`GRANT SELECT ON purge_permits TO PUBLIC`);

    await q.query(`
      CREATE OR REPLACE FUNCTION reject_change() RETURNS trigger LANGUAGE plpgsql SET search_path = audit, pg_temp AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'records' THEN
          IF EXISTS (SELECT 1 FROM purge_permits p
                      WHERE p.xact_id = pg_current_xact_id() AND p.tenant_id = OLD.tenant_id AND OLD.seq <= p.through_seq) THEN
            RETURN OLD;
          END IF;
        END IF;
        RAISE EXCEPTION 'audit % are append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);

    await q.query(`
      CREATE FUNCTION chain_head_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' THEN
          IF NEW.tenant_id = OLD.tenant_id AND NEW.last_seq >= OLD.last_seq
             AND NEW.purged_through_seq >= OLD.purged_through_seq AND NEW.checkpointed_seq >= OLD.checkpointed_seq THEN
            RETURN NEW;
          END IF;
        END IF;
        RAISE EXCEPTION 'audit chain heads only move forward: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(
      `CREATE TRIGGER chain_heads_forward_only BEFORE UPDATE OR DELETE ON chain_heads FOR EACH ROW EXECUTE FUNCTION chain_head_moves_forward()`,
    );
    await q.query(
      `CREATE TRIGGER chain_heads_no_truncate BEFORE TRUNCATE ON chain_heads FOR EACH STATEMENT EXECUTE FUNCTION chain_head_moves_forward()`,
    );

    // Creates the missing heads and locks the heads, in tenant order, until the caller's transaction ends.
    await q.query(`
      CREATE FUNCTION lock_chain_heads(p_tenants text[])
      RETURNS TABLE (tenant_id text, last_seq bigint, last_hash bytea)
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
      #variable_conflict use_column
      BEGIN
        INSERT INTO chain_heads (tenant_id) SELECT unnest(p_tenants) ON CONFLICT DO NOTHING;
        RETURN QUERY SELECT h.tenant_id, h.last_seq, h.last_hash FROM chain_heads h
                      WHERE h.tenant_id = ANY(p_tenants) ORDER BY h.tenant_id FOR UPDATE;
      END $$`);

    // Appends records (one array per column, index-aligned) and advances their heads. Each chain's records must
    // continue its head: seqs head+1, head+2, ..., each linking to the hash before it, each record hash the SHA-256
    // of its link and content hash. The content hash itself is checked by verify, which recomputes it.
    await q.query(`
      CREATE FUNCTION append_records(
        p_tenant text[], p_seq bigint[], p_event_id text[], p_event_type text[], p_source text[], p_task_id uuid[],
        p_occurred_at timestamptz[], p_route text[], p_model text[], p_status text[], p_decision text[],
        p_metadata jsonb[], p_content text[], p_search text[], p_prev_hash bytea[], p_content_hash bytea[],
        p_record_hash bytea[], p_recorded_at timestamptz)
      RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
      DECLARE
        v_bad record;
      BEGIN
        -- Held already when the caller locked them first; otherwise the heads are locked here.
        PERFORM 1 FROM chain_heads h WHERE h.tenant_id = ANY(p_tenant) ORDER BY h.tenant_id FOR UPDATE;
        SELECT b.tenant_id, b.seq, b.head_seq INTO v_bad FROM (
          SELECT t.tenant_id, t.seq, t.prev_hash, t.content_hash, t.record_hash, h.last_seq AS head_seq,
                 h.last_hash AS head_hash, row_number() OVER w AS n, lag(t.record_hash) OVER w AS prev_in_batch
            FROM unnest(p_tenant, p_seq, p_prev_hash, p_content_hash, p_record_hash)
                   AS t(tenant_id, seq, prev_hash, content_hash, record_hash)
            LEFT JOIN chain_heads h ON h.tenant_id = t.tenant_id
          WINDOW w AS (PARTITION BY t.tenant_id ORDER BY t.seq)
        ) b
        WHERE b.head_seq IS NULL
           OR b.seq IS DISTINCT FROM b.head_seq + b.n
           OR b.prev_hash IS DISTINCT FROM coalesce(b.prev_in_batch, b.head_hash)
           OR b.record_hash IS DISTINCT FROM sha256(b.prev_hash || b.content_hash)
        LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'record % of chain % does not extend its head (at seq %)', v_bad.seq, v_bad.tenant_id, v_bad.head_seq
            USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO records (tenant_id, seq, event_id, event_type, source, task_id, occurred_at, recorded_at, route,
                             model, status, decision, metadata, content, search, prev_hash, content_hash, record_hash)
        SELECT t.tenant_id, t.seq, t.event_id, t.event_type, t.source, t.task_id, t.occurred_at, p_recorded_at, t.route,
               t.model, t.status, t.decision, t.metadata, t.content,
               CASE WHEN t.search IS NULL THEN NULL ELSE to_tsvector('simple', t.search) END,
               t.prev_hash, t.content_hash, t.record_hash
          FROM unnest(p_tenant, p_seq, p_event_id, p_event_type, p_source, p_task_id, p_occurred_at, p_route, p_model,
                      p_status, p_decision, p_metadata, p_content, p_search, p_prev_hash, p_content_hash, p_record_hash)
            AS t(tenant_id, seq, event_id, event_type, source, task_id, occurred_at, route, model, status, decision,
                 metadata, content, search, prev_hash, content_hash, record_hash);
        UPDATE chain_heads h SET last_seq = t.seq, last_hash = t.record_hash, updated_at = now()
          FROM (SELECT DISTINCT ON (u.tenant_id) u.tenant_id, u.seq, u.record_hash
                  FROM unnest(p_tenant, p_seq, p_record_hash) AS u(tenant_id, seq, record_hash)
                 ORDER BY u.tenant_id, u.seq DESC) t
         WHERE h.tenant_id = t.tenant_id;
      END $$`);

    // Stores a signed checkpoint of a stored record, and moves the chain's checkpointed position.
    await q.query(`
      CREATE FUNCTION add_checkpoint(p_tenant text, p_seq bigint, p_hash bytea, p_signed_at timestamptz,
                                     p_key_id text, p_signature bytea)
      RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM records r WHERE r.tenant_id = p_tenant AND r.seq = p_seq AND r.record_hash = p_hash) THEN
          -- Purged between the head's read and the signing: the purge signs its own checkpoint.
          IF EXISTS (SELECT 1 FROM chain_heads h WHERE h.tenant_id = p_tenant AND p_seq <= h.purged_through_seq) THEN
            RETURN;
          END IF;
          RAISE EXCEPTION 'no record of chain % at seq % with the checkpointed hash', p_tenant, p_seq
            USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO checkpoints (tenant_id, seq, record_hash, signed_at, key_id, signature)
        VALUES (p_tenant, p_seq, p_hash, p_signed_at, p_key_id, p_signature) ON CONFLICT (tenant_id, seq) DO NOTHING;
        UPDATE chain_heads h SET checkpointed_seq = GREATEST(h.checkpointed_seq, p_seq) WHERE h.tenant_id = p_tenant;
      END $$`);

    // Points the head at the record of the last purge, which states what was purged (the verifier checks it).
    await q.query(`
      CREATE FUNCTION mark_purge_recorded(p_tenant text, p_seq bigint)
      RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
      BEGIN
        UPDATE chain_heads h SET last_purge_seq = p_seq
         WHERE h.tenant_id = p_tenant AND p_seq > h.purged_through_seq
           AND EXISTS (SELECT 1 FROM records r
                        WHERE r.tenant_id = p_tenant AND r.seq = p_seq AND r.event_type = 'audit.retention.purged.v1');
        IF NOT FOUND THEN
          RAISE EXCEPTION 'no purge record of chain % at seq %', p_tenant, p_seq USING ERRCODE = 'check_violation';
        END IF;
      END $$`);

    await q.query(purgeExpired(true));
    for (const fn of FUNCTIONS) await q.query(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(purgeExpired(false));
    for (const fn of FUNCTIONS) await q.query(`DROP FUNCTION ${fn}`);
    await q.query(`DROP TRIGGER chain_heads_no_truncate ON chain_heads`);
    await q.query(`DROP TRIGGER chain_heads_forward_only ON chain_heads`);
    await q.query(`DROP FUNCTION chain_head_moves_forward()`);
    await q.query(`
      CREATE OR REPLACE FUNCTION reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'records' AND current_setting('audit.purging', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit % are append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`DROP TABLE purge_permits`);
  }
}

/** The functions the writer role may execute besides purge_expired, by signature. */
export const CHAIN_WRITE_FUNCTIONS = [
  'lock_chain_heads(text[])',
  'append_records(text[], bigint[], text[], text[], text[], uuid[], timestamptz[], text[], text[], text[], text[], jsonb[], text[], text[], bytea[], bytea[], bytea[], timestamptz)',
  'add_checkpoint(text, bigint, bytea, timestamptz, text, bytea)',
  'mark_purge_recorded(text, bigint)',
] as const;
const FUNCTIONS = CHAIN_WRITE_FUNCTIONS;

// purge_expired as it was created (the session setting as the flag), or with a purge permit for its prefix.
function purgeExpired(withPermit: boolean): string {
  const allow = withPermit
    ? `INSERT INTO purge_permits (xact_id, tenant_id, through_seq) VALUES (pg_current_xact_id(), p_tenant, v_through);`
    : `PERFORM set_config('audit.purging', 'on', true);`;
  const disallow = withPermit
    ? `DELETE FROM purge_permits WHERE xact_id = pg_current_xact_id() AND tenant_id = p_tenant;`
    : `PERFORM set_config('audit.purging', 'off', true);`;
  return `
      CREATE OR REPLACE FUNCTION purge_expired(p_tenant text, p_cutoff timestamptz)
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
        ${allow}
        DELETE FROM records r WHERE r.tenant_id = p_tenant AND r.seq > v_from AND r.seq <= v_through;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        ${disallow}
        UPDATE chain_heads h SET purged_through_seq = v_through, purged_through_hash = v_hash WHERE h.tenant_id = p_tenant;
        RETURN QUERY SELECT v_count, v_through, v_hash;
      END $$`;
}

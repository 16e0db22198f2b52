import type { MigrationInterface, QueryRunner } from 'typeorm';

// records becomes a table partitioned by range of recorded_at (UTC days, settings.partition_days wide), so that
// retention drops whole expired partitions and each partition's indexes stay small. The existing table is attached
// as one partition up to the end of today, or of its latest record's day (no row is copied: its rows keep their bytes,
// the chains their hashes);
// partitions after it are created by ensure_record_partitions, and a default partition catches whatever no partition
// covers, so an append never fails for want of one.
//
// Two guarantees of the plain table move into append_records, since a unique index of a partitioned table must hold
// the partition key: an event is stored once per chain (records_tenant_event is no longer unique), and no record may
// take a seq already stored (the primary key is (tenant_id, seq, recorded_at)). Both are checked under the chain
// head's lock. recorded_at never goes back along a chain (chain_heads.last_recorded_at), so a time partition holds
// a seq prefix of every chain in it, and dropping it cannot cut a hole in one.
export class PartitionRecordsByTime1796800000000 implements MigrationInterface {
  name = 'PartitionRecordsByTime1796800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE settings ADD COLUMN partition_days int NOT NULL DEFAULT 30 CHECK (partition_days BETWEEN 1 AND 366)`,
    );
    await q.query(`ALTER TABLE chain_heads ADD COLUMN last_recorded_at timestamptz`);
    await q.query(`
      UPDATE chain_heads h SET last_recorded_at = r.recorded_at
        FROM records r WHERE r.tenant_id = h.tenant_id AND r.seq = h.last_seq`);

    await q.query(`
      CREATE OR REPLACE FUNCTION reject_change() RETURNS trigger LANGUAGE plpgsql SET search_path = audit, pg_temp AS $$
      DECLARE
        -- A partition's trigger names its table as an argument: TG_TABLE_NAME is the partition's own name.
        v_table text := coalesce(TG_ARGV[0], TG_TABLE_NAME);
      BEGIN
        IF TG_OP = 'DELETE' AND v_table = 'records' THEN
          IF EXISTS (SELECT 1 FROM purge_permits p
                      WHERE p.xact_id = pg_current_xact_id() AND p.tenant_id = OLD.tenant_id AND OLD.seq <= p.through_seq) THEN
            RETURN OLD;
          END IF;
        END IF;
        RAISE EXCEPTION 'audit % are append-only: % refused', v_table, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);

    // The old table keeps its rows and becomes the first partition; its index names make way for the parent's.
    await q.query(`ALTER TABLE records RENAME TO records_legacy`);
    await q.query(`DROP TRIGGER records_append_only ON records_legacy`);
    await q.query(`DROP TRIGGER records_no_truncate ON records_legacy`);
    await q.query(`ALTER TABLE records_legacy RENAME CONSTRAINT records_pkey TO records_legacy_pkey`);
    for (const index of ['tenant_event', ...INDEXES.map((i) => i.name)]) {
      await q.query(`ALTER INDEX records_${index} RENAME TO records_legacy_${index}`);
    }
    await q.query(
      `CREATE TABLE records (LIKE records_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (recorded_at)`,
    );
    await q.query(`ALTER TABLE records ADD PRIMARY KEY (tenant_id, seq, recorded_at)`);
    await q.query(
      `CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records FOR EACH ROW EXECUTE FUNCTION reject_change('records')`,
    );
    await q.query(
      `CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records FOR EACH STATEMENT EXECUTE FUNCTION reject_change('records')`,
    );

    const legacy = (await q.query(`
      SELECT CASE WHEN max(recorded_at) IS NULL THEN NULL
                  ELSE greatest(date_trunc('day', now(), 'UTC'), date_trunc('day', max(recorded_at), 'UTC')) + interval '24 hours'
             END AS bound
        FROM records_legacy`)) as { bound: Date | null }[];
    const bound = legacy[0]?.bound ?? null;
    if (bound === null) {
      await q.query(`DROP TABLE records_legacy`);
    } else {
      // Attaching scans the table once to check its rows fit, and builds the parent's primary key on it (a table has
      // one; the seqs stay unique per chain by construction: appends hold the head's lock and extend it).
      await q.query(`ALTER TABLE records_legacy DROP CONSTRAINT records_legacy_pkey`);
      await q.query(
        `ALTER TABLE records ATTACH PARTITION records_legacy FOR VALUES FROM (MINVALUE) TO ('${bound.toISOString()}')`,
      );
      await q.query(noTruncate('records_legacy'));
    }
    // The same definitions as before: the old table's indexes are attached to them rather than built again.
    for (const index of INDEXES)
      await q.query(`CREATE INDEX records_${index.name} ON records ${index.definition}`);
    await q.query(`CREATE INDEX records_tenant_event ON records (tenant_id, event_id)`);
    if (bound !== null) await q.query(`DROP INDEX records_legacy_tenant_event`);
    await q.query(`CREATE TABLE records_default PARTITION OF records DEFAULT`);
    await q.query(noTruncate('records_default'));

    await q.query(`DROP FUNCTION lock_chain_heads(text[])`);
    await q.query(lockChainHeads(true));
    await q.query(appendRecords(true));

    // The time partitions, with their bounds read from the catalogue (MINVALUE gives a null from_at).
    await q.query(`
      CREATE FUNCTION record_partitions()
      RETURNS TABLE (name text, from_at timestamptz, to_at timestamptz)
      LANGUAGE sql STABLE SET search_path = audit, pg_temp SET datestyle = 'ISO, YMD' AS $$
        SELECT c.relname::text,
               (regexp_match(b.expr, 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz,
               (regexp_match(b.expr, 'TO \\(''([^'']+)''\\)'))[1]::timestamptz
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
          CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) b
         WHERE i.inhparent = 'records'::regclass AND b.expr <> 'DEFAULT'
         ORDER BY 3
      $$`);

    // Creates the partitions after the last one until one covers p_until, each settings.partition_days wide from a
    // UTC midnight. A caller cannot make the owner create more than three periods ahead. Rows in the default
    // partition cannot lie under a new partition: the next one then starts the day after the latest of them, and the
    // gap stays in the default partition, whose rows only the row purge removes.
    await q.query(`
      CREATE FUNCTION ensure_record_partitions(p_until timestamptz)
      RETURNS SETOF text
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp SET timezone = 'UTC'
        SET datestyle = 'ISO, YMD' SET lock_timeout = '3s' AS $$
      DECLARE
        v_days int;
        v_from timestamptz;
        v_to timestamptz;
        v_default_max timestamptz;
        v_name text;
      BEGIN
        SELECT partition_days INTO v_days FROM settings;
        p_until := least(p_until, now() + make_interval(days => 3 * v_days));
        PERFORM pg_advisory_xact_lock(hashtext('deliberate.audit.record_partitions'));
        SELECT max(p.to_at) INTO v_from FROM record_partitions() p;
        v_from := coalesce(v_from, date_trunc('day', now(), 'UTC'));
        SELECT max(d.recorded_at) INTO v_default_max FROM records_default d;
        IF v_default_max >= v_from THEN
          v_from := date_trunc('day', v_default_max, 'UTC') + interval '1 day';
        END IF;
        WHILE v_from <= p_until LOOP
          v_to := v_from + make_interval(days => v_days);
          v_name := 'records_p' || to_char(v_from, 'YYYYMMDD');
          EXECUTE format('CREATE TABLE %I PARTITION OF records FOR VALUES FROM (%L) TO (%L)', v_name, v_from, v_to);
          EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION reject_change(%L)',
                         v_name || '_no_truncate', v_name, 'records');
          RETURN NEXT v_name;
          v_from := v_to;
        END LOOP;
      END $$`);

    // Creating or dropping a partition takes an exclusive lock on records for a moment, waiting for the statements on
    // it: the functions give up after a few seconds rather than hold every append and read queued behind them (the
    // retention job tries again on its next run).
    //
    // Drops a time partition that lies entirely before the cutoff, the cutoff outside the retention floor, when it
    // holds the next prefix of each chain in it (from the head's purge anchor on, with nothing of it elsewhere);
    // moves each chain's purge anchor past it and returns, per chain, what the caller records as the purge. The
    // partition is locked against inserts first, then the heads of its chains (in tenant order, as appends do).
    await q.query(`
      CREATE FUNCTION drop_expired_partition(p_partition text, p_cutoff timestamptz)
      RETURNS TABLE (tenant_id text, purged bigint, through_seq bigint, through_hash bytea)
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp SET lock_timeout = '3s' AS $$
      #variable_conflict use_column
      DECLARE
        v_floor int;
        v_from_at timestamptz;
        v_to_at timestamptz;
        v_chain record;
        v_anchor bigint;
        v_tenants text[] := '{}';
        v_counts bigint[] := '{}';
        v_through bigint[] := '{}';
        v_hashes bytea[] := '{}';
        v_hash bytea;
      BEGIN
        SELECT s.retention_floor_days INTO v_floor FROM settings s;
        IF p_cutoff > now() - make_interval(days => v_floor) THEN
          RAISE EXCEPTION 'cutoff % is inside the retention floor of % days', p_cutoff, v_floor
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        SELECT p.from_at, p.to_at INTO v_from_at, v_to_at FROM record_partitions() p WHERE p.name = p_partition;
        IF NOT FOUND THEN
          RAISE EXCEPTION '% is not a time partition of the audit records', p_partition
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF v_to_at > p_cutoff THEN
          RAISE EXCEPTION 'partition % (up to %) is not entirely before the cutoff %', p_partition, v_to_at, p_cutoff
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('LOCK TABLE %I IN SHARE MODE', p_partition);
        FOR v_chain IN EXECUTE format(
          'SELECT r.tenant_id, count(*) AS n, min(r.seq) AS lo, max(r.seq) AS hi FROM %I r GROUP BY r.tenant_id ORDER BY r.tenant_id',
          p_partition)
        LOOP
          SELECT h.purged_through_seq INTO v_anchor FROM chain_heads h WHERE h.tenant_id = v_chain.tenant_id FOR UPDATE;
          IF v_anchor IS NULL OR v_chain.lo <> v_anchor + 1 OR v_chain.n <> v_chain.hi - v_chain.lo + 1
             OR EXISTS (SELECT 1 FROM records r
                         WHERE r.tenant_id = v_chain.tenant_id AND r.seq <= v_chain.hi
                           AND (r.recorded_at < coalesce(v_from_at, '-infinity') OR r.recorded_at >= v_to_at)) THEN
            RAISE EXCEPTION 'partition % holds records % to % of chain %, which do not follow its purged prefix (seq %): earlier records lie in another partition or are missing',
                            p_partition, v_chain.lo, v_chain.hi, v_chain.tenant_id, v_anchor
              USING ERRCODE = 'check_violation';
          END IF;
          EXECUTE format('SELECT r.record_hash FROM %I r WHERE r.tenant_id = $1 AND r.seq = $2', p_partition)
            INTO v_hash USING v_chain.tenant_id, v_chain.hi;
          v_tenants := v_tenants || v_chain.tenant_id;
          v_counts := v_counts || v_chain.n;
          v_through := v_through || v_chain.hi;
          v_hashes := v_hashes || v_hash;
        END LOOP;
        EXECUTE format('DROP TABLE %I', p_partition);
        UPDATE chain_heads h SET purged_through_seq = t.seq, purged_through_hash = t.hash
          FROM unnest(v_tenants, v_through, v_hashes) AS t(tenant_id, seq, hash)
         WHERE h.tenant_id = t.tenant_id;
        RETURN QUERY SELECT * FROM unnest(v_tenants, v_counts, v_through, v_hashes);
      END $$`);

    for (const fn of ['lock_chain_heads(text[])', ...PARTITION_FUNCTIONS]) {
      await q.query(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION drop_expired_partition(text, timestamptz)`);
    await q.query(`DROP FUNCTION ensure_record_partitions(timestamptz)`);
    await q.query(`DROP FUNCTION record_partitions()`);
    await q.query(appendRecords(false));
    await q.query(`DROP FUNCTION lock_chain_heads(text[])`);
    await q.query(lockChainHeads(false));
    await q.query(`REVOKE ALL ON FUNCTION lock_chain_heads(text[]) FROM PUBLIC`);

    // Back to one table: every row is copied (rare, and the plain table has no other way to take them).
    await q.query(`CREATE TABLE records_flat (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await q.query(`INSERT INTO records_flat SELECT * FROM records`);
    await q.query(`DROP TABLE records`);
    await q.query(`ALTER TABLE records_flat RENAME TO records`);
    await q.query(`ALTER TABLE records ADD PRIMARY KEY (tenant_id, seq)`);
    await q.query(`CREATE UNIQUE INDEX records_tenant_event ON records (tenant_id, event_id)`);
    for (const index of INDEXES)
      await q.query(`CREATE INDEX records_${index.name} ON records ${index.definition}`);
    await q.query(
      `CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records FOR EACH ROW EXECUTE FUNCTION reject_change()`,
    );
    await q.query(
      `CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records FOR EACH STATEMENT EXECUTE FUNCTION reject_change()`,
    );
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
    await q.query(`ALTER TABLE chain_heads DROP COLUMN last_recorded_at`);
    await q.query(`ALTER TABLE settings DROP COLUMN partition_days`);
  }
}

/** The partition functions the writer role may execute (retention and the partitions ahead), by signature. */
export const PARTITION_FUNCTIONS = [
  'record_partitions()',
  'ensure_record_partitions(timestamptz)',
  'drop_expired_partition(text, timestamptz)',
] as const;

// The indexes of records other than its key and the event index, as the first migration created them.
const INDEXES = [
  { name: 'task', definition: '(task_id, occurred_at) WHERE task_id IS NOT NULL' },
  { name: 'tenant_time', definition: '(tenant_id, occurred_at, seq)' },
  { name: 'metadata', definition: `USING gin (metadata jsonb_path_ops) WHERE metadata <> '{}'` },
  { name: 'search', definition: 'USING gin (search) WHERE search IS NOT NULL' },
] as const;

// TRUNCATE of the parent fires its own statement trigger only: each partition needs one of its own.
function noTruncate(partition: string): string {
  return `CREATE TRIGGER ${partition}_no_truncate BEFORE TRUNCATE ON ${partition} FOR EACH STATEMENT EXECUTE FUNCTION reject_change('records')`;
}

// lock_chain_heads as it was, or also returning the time of the chain's last record (appends never go before it).
function lockChainHeads(withRecordedAt: boolean): string {
  const column = withRecordedAt ? ', last_recorded_at timestamptz' : '';
  const select = withRecordedAt ? ', h.last_recorded_at' : '';
  return `
      CREATE FUNCTION lock_chain_heads(p_tenants text[])
      RETURNS TABLE (tenant_id text, last_seq bigint, last_hash bytea${column})
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
      #variable_conflict use_column
      BEGIN
        INSERT INTO chain_heads (tenant_id) SELECT unnest(p_tenants) ON CONFLICT DO NOTHING;
        RETURN QUERY SELECT h.tenant_id, h.last_seq, h.last_hash${select} FROM chain_heads h
                      WHERE h.tenant_id = ANY(p_tenants) ORDER BY h.tenant_id FOR UPDATE;
      END $$`;
}

// append_records as the restriction of chain writes created it, or with the checks a partitioned table needs.
function appendRecords(partitioned: boolean): string {
  // recorded_at is compared at millisecond precision: the service's clock has no finer one, and a partition bound
  // (a UTC midnight) is a whole millisecond, so the truncation never moves a record across one.
  const checks = partitioned
    ? `
        SELECT h.tenant_id, h.last_recorded_at INTO v_bad FROM chain_heads h
         WHERE h.tenant_id = ANY(p_tenant) AND date_trunc('milliseconds', h.last_recorded_at) > p_recorded_at LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'records of chain % recorded at %, before its last record (%)', v_bad.tenant_id, p_recorded_at,
                          v_bad.last_recorded_at
            USING ERRCODE = 'check_violation';
        END IF;
        -- A head set back behind stored records: its next seq is taken.
        SELECT h.tenant_id, h.last_seq INTO v_bad FROM chain_heads h
         WHERE h.tenant_id = ANY(p_tenant)
           AND EXISTS (SELECT 1 FROM records r WHERE r.tenant_id = h.tenant_id AND r.seq > h.last_seq) LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'chain % has records stored past its head (at seq %)', v_bad.tenant_id, v_bad.last_seq
            USING ERRCODE = 'check_violation';
        END IF;
        -- Once per chain: the caller skips stored events already; this refuses any that would still come twice. The
        -- lateral probe is one index lookup per event and partition, whatever the partitions' statistics say.
        SELECT e.tenant_id, e.event_id INTO v_bad FROM unnest(p_tenant, p_event_id) AS e(tenant_id, event_id)
         CROSS JOIN LATERAL (
           SELECT 1 FROM records r WHERE r.tenant_id = e.tenant_id AND r.event_id = e.event_id LIMIT 1
         ) stored
         UNION ALL
        SELECT e.tenant_id, e.event_id FROM unnest(p_tenant, p_event_id) AS e(tenant_id, event_id)
         GROUP BY e.tenant_id, e.event_id HAVING count(*) > 1
         LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'event % of chain % is already stored', v_bad.event_id, v_bad.tenant_id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'records_tenant_event';
        END IF;`
    : '';
  const recordedAt = partitioned ? ', last_recorded_at = p_recorded_at' : '';
  return `
      CREATE OR REPLACE FUNCTION append_records(
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
        END IF;${checks}
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
        UPDATE chain_heads h SET last_seq = t.seq, last_hash = t.record_hash, updated_at = now()${recordedAt}
          FROM (SELECT DISTINCT ON (u.tenant_id) u.tenant_id, u.seq, u.record_hash
                  FROM unnest(p_tenant, p_seq, p_record_hash) AS u(tenant_id, seq, record_hash)
                 ORDER BY u.tenant_id, u.seq DESC) t
         WHERE h.tenant_id = t.tenant_id;
      END $$`;
}

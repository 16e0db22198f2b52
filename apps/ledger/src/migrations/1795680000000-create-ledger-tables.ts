import type { MigrationInterface, QueryRunner } from 'typeorm';

// Money columns are bigint micro-USD; period and task counters carry both what is held and what is spent, so an
// approval is one conditional UPDATE of each counter a reservation touches.
export class CreateLedgerTables1795680000000 implements MigrationInterface {
  name = 'CreateLedgerTables1795680000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE prices (
        id bigserial PRIMARY KEY,
        model text NOT NULL,
        input_micro_usd_per_mtok bigint NOT NULL CHECK (input_micro_usd_per_mtok >= 0),
        cached_input_micro_usd_per_mtok bigint NOT NULL CHECK (cached_input_micro_usd_per_mtok >= 0),
        output_micro_usd_per_mtok bigint NOT NULL CHECK (output_micro_usd_per_mtok >= 0),
        reasoning_micro_usd_per_mtok bigint NOT NULL CHECK (reasoning_micro_usd_per_mtok >= 0),
        effective_from timestamptz NOT NULL,
        source text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- Versions are immutable: a price change inserts a row; this index also serves "the price in force at t".
        CONSTRAINT prices_model_effective_from UNIQUE (model, effective_from)
      )`);
    await q.query(`
      CREATE TABLE budgets (
        tenant_id text NOT NULL,
        scope text NOT NULL CHECK (scope IN ('tenant', 'api_key', 'project')),
        scope_id text NOT NULL,
        daily_limit_micro_usd bigint CHECK (daily_limit_micro_usd > 0),
        monthly_limit_micro_usd bigint CHECK (monthly_limit_micro_usd > 0),
        per_task_limit_micro_usd bigint CHECK (per_task_limit_micro_usd > 0),
        soft_threshold_percents integer[] NOT NULL DEFAULT '{80}',
        over_budget_policy text NOT NULL DEFAULT 'fail' CHECK (over_budget_policy IN ('fail', 'route_cheap')),
        breaker_window_seconds integer NOT NULL DEFAULT 60 CHECK (breaker_window_seconds > 0),
        breaker_max_spend_micro_usd bigint CHECK (breaker_max_spend_micro_usd > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, scope, scope_id)
      )`);
    await q.query(`
      CREATE TABLE spend_counters (
        tenant_id text NOT NULL,
        scope text NOT NULL,
        scope_id text NOT NULL,
        period text NOT NULL CHECK (period IN ('day', 'month')),
        period_start date NOT NULL,
        reserved_micro_usd bigint NOT NULL DEFAULT 0 CHECK (reserved_micro_usd >= 0),
        spent_micro_usd bigint NOT NULL DEFAULT 0 CHECK (spent_micro_usd >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, scope, scope_id, period, period_start)
      )`);
    await q.query(`
      CREATE TABLE task_counters (
        tenant_id text NOT NULL,
        task_id uuid NOT NULL,
        reserved_micro_usd bigint NOT NULL DEFAULT 0 CHECK (reserved_micro_usd >= 0),
        spent_micro_usd bigint NOT NULL DEFAULT 0 CHECK (spent_micro_usd >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, task_id)
      )`);
    await q.query(`
      CREATE TABLE reservations (
        id uuid PRIMARY KEY,
        -- The command's correlation id: a request delivered twice (a rebalance, a producer retry) holds once.
        request_id text UNIQUE,
        tenant_id text NOT NULL,
        task_id uuid NOT NULL,
        api_key_id text,
        project text,
        model text NOT NULL,
        price_id bigint NOT NULL REFERENCES prices (id),
        amount_micro_usd bigint NOT NULL CHECK (amount_micro_usd >= 0),
        counter_keys jsonb NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'settled', 'released', 'expired')),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        closed_at timestamptz,
        released_micro_usd bigint,
        cost_micro_usd bigint,
        usage_event_id text,
        close_reason text
      )`);
    await q.query(
      `CREATE INDEX reservations_active_expiry ON reservations (expires_at) WHERE status = 'active'`,
    );
    await q.query(`CREATE INDEX reservations_tenant_task ON reservations (tenant_id, task_id)`);
    await q.query(`
      CREATE TABLE bookings (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL,
        tenant_id text NOT NULL,
        task_id uuid,
        reservation_id uuid,
        call_id text,
        model text NOT NULL,
        tier text,
        purpose text,
        outcome text,
        input_tokens bigint NOT NULL,
        cached_input_tokens bigint NOT NULL,
        output_tokens bigint NOT NULL,
        reasoning_tokens bigint NOT NULL,
        cost_micro_usd bigint NOT NULL CHECK (cost_micro_usd >= 0),
        -- Null only for a call that consumed no tokens: it costs nothing whatever the price.
        price_id bigint REFERENCES prices (id),
        event_time timestamptz NOT NULL,
        booked_at timestamptz NOT NULL DEFAULT now(),
        source text NOT NULL CHECK (source IN ('event', 'settle')),
        CONSTRAINT bookings_event_id UNIQUE (event_id)
      )`);
    await q.query(`CREATE INDEX bookings_tenant_booked_at ON bookings (tenant_id, booked_at)`);
    await q.query(`CREATE INDEX bookings_booked_at ON bookings (booked_at)`);
    // The breaker's sliding window reads spend by call time.
    await q.query(`CREATE INDEX bookings_tenant_event_time ON bookings (tenant_id, event_time)`);
    await q.query(`
      CREATE TABLE threshold_crossings (
        id uuid NOT NULL UNIQUE,
        tenant_id text NOT NULL,
        scope text NOT NULL,
        scope_id text NOT NULL,
        period text NOT NULL,
        period_start date NOT NULL,
        threshold_percent integer NOT NULL,
        limit_micro_usd bigint NOT NULL,
        used_micro_usd bigint NOT NULL,
        crossed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, scope, scope_id, period, period_start, threshold_percent)
      )`);
    await q.query(`
      CREATE TABLE breakers (
        tenant_id text PRIMARY KEY,
        state text NOT NULL CHECK (state IN ('closed', 'open')),
        reason text,
        message text,
        policy text,
        window_seconds integer,
        window_spend_micro_usd bigint,
        opened_at timestamptz,
        retry_at timestamptz,
        closed_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX breakers_open_retry ON breakers (retry_at) WHERE state = 'open'`);
    // Events are written here in the transaction that decides them, then published; leftovers are republished.
    await q.query(`
      CREATE TABLE outbox (
        id uuid PRIMARY KEY,
        topic text NOT NULL,
        tenant_id text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox`);
    await q.query(`DROP TABLE breakers`);
    await q.query(`DROP TABLE threshold_crossings`);
    await q.query(`DROP TABLE bookings`);
    await q.query(`DROP TABLE reservations`);
    await q.query(`DROP TABLE task_counters`);
    await q.query(`DROP TABLE spend_counters`);
    await q.query(`DROP TABLE budgets`);
    await q.query(`DROP TABLE prices`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

// One row per message (an event for one target), scheduled by next_attempt_at; attempts are the delivery log.
export class CreateWebhooksTables1795900000000 implements MigrationInterface {
  name = 'CreateWebhooksTables1795900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE endpoints (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        url text NOT NULL,
        description text NOT NULL DEFAULT '',
        event_types text[] NOT NULL,
        status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
        disabled_reason text CHECK (disabled_reason IN ('gone', 'sustained_failure', 'manual')),
        disabled_message text,
        disabled_at timestamptz,
        secret text NOT NULL,
        -- During a rotation's overlap the old secret signs too.
        previous_secret text,
        previous_secret_expires_at timestamptz,
        secret_rotated_at timestamptz,
        -- Start of the current run of failures; cleared by any success. Too old: the endpoint is disabled.
        failing_since timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX endpoints_tenant ON endpoints (tenant_id, created_at)`);
    // Signs deliveries to tasks' own webhookUrl; one per tenant.
    await q.query(`
      CREATE TABLE task_secrets (
        tenant_id text PRIMARY KEY,
        secret text NOT NULL,
        previous_secret text,
        previous_secret_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        secret_rotated_at timestamptz
      )`);
    // What tasks.task.accepted.v1 said, for the terminal events that follow.
    await q.query(`
      CREATE TABLE tasks (
        task_id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        webhook_url text,
        metadata jsonb NOT NULL,
        accepted_at timestamptz NOT NULL
      )`);
    // Terminal events, kept until fanned out (at once when the task is known; else when accepted arrives).
    await q.query(`
      CREATE TABLE terminal_events (
        event_id text PRIMARY KEY,
        tenant_id text NOT NULL,
        task_id uuid NOT NULL,
        event_type text NOT NULL,
        occurred_at timestamptz NOT NULL,
        data jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        fanned_out_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX terminal_events_waiting ON terminal_events (task_id) WHERE fanned_out_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX terminal_events_waiting_since ON terminal_events (received_at) WHERE fanned_out_at IS NULL`,
    );
    await q.query(`
      CREATE TABLE messages (
        id text PRIMARY KEY,
        tenant_id text NOT NULL,
        task_id uuid NOT NULL,
        source_event_id text NOT NULL,
        event_type text NOT NULL,
        -- A registered endpoint, or null for the task's own webhookUrl (then url is that URL).
        endpoint_id uuid REFERENCES endpoints (id),
        url text,
        body text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead_lettered')),
        -- Attempts made, over every round (replays included); also the number of the next attempt minus one.
        attempts integer NOT NULL DEFAULT 0,
        -- Position in the retry schedule of the current round; a replay starts a new round.
        schedule_step integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        -- A claimed attempt: who holds it (claim_token) and until when; expired, it is due again.
        claimed_until timestamptz,
        claim_token uuid,
        last_status integer,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        dead_lettered_at timestamptz,
        CONSTRAINT messages_one_per_target UNIQUE (source_event_id, endpoint_id),
        CHECK ((endpoint_id IS NULL) = (url IS NOT NULL))
      )`);
    // UNIQUE treats nulls as distinct: the task URL target needs its own guard.
    await q.query(
      `CREATE UNIQUE INDEX messages_one_task_url ON messages (source_event_id) WHERE endpoint_id IS NULL`,
    );
    await q.query(`CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX messages_tenant ON messages (tenant_id, id)`);
    await q.query(
      `CREATE INDEX messages_endpoint_pending ON messages (endpoint_id) WHERE status = 'pending'`,
    );
    await q.query(`
      CREATE TABLE attempts (
        message_id text NOT NULL REFERENCES messages (id),
        attempt integer NOT NULL,
        tenant_id text NOT NULL,
        endpoint_id uuid,
        url text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'refused')),
        http_status integer,
        latency_ms integer NOT NULL,
        response_snippet text NOT NULL,
        error text,
        scheduled_at timestamptz NOT NULL,
        attempted_at timestamptz NOT NULL,
        next_attempt_at timestamptz,
        PRIMARY KEY (message_id, attempt)
      )`);
    // Events written in the transaction that decided them, then published; leftovers are republished.
    await q.query(`
      CREATE TABLE outbox (
        id uuid PRIMARY KEY,
        topic text NOT NULL,
        tenant_id text NOT NULL,
        task_id uuid,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'outbox',
      'attempts',
      'messages',
      'terminal_events',
      'tasks',
      'task_secrets',
      'endpoints',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}

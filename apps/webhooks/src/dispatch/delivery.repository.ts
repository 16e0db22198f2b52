import type { WebhookEventType } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

export interface ClaimRow {
  id: string;
  claim_token: string;
  tenant_id: string;
  task_id: string;
  event_type: WebhookEventType;
  endpoint_id: string | null;
  url: string | null;
  body: string;
  attempts: number;
  schedule_step: number;
  scheduled_at: Date;
  traceparent: string | null;
}

export interface SigningEndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  status: 'enabled' | 'disabled';
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

export interface TaskSecretsRow {
  tenant_id: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

export interface DeadRow {
  id: string;
  tenant_id: string;
  task_id: string;
  event_type: WebhookEventType;
  endpoint_id: string | null;
  attempts: number;
}

/** One attempt's outcome as stored: the message's new state and the attempt log row. */
export interface AttemptOutcomeRow {
  messageId: string;
  claimToken: string;
  status: 'delivered' | 'pending' | 'dead_lettered';
  nextAttemptAt: Date | null;
  httpStatus: number | null;
  error: string | null;
  attempt: number;
  tenantId: string;
  endpointId: string | null;
  url: string;
  outcome: 'delivered' | 'failed' | 'refused';
  latencyMs: number;
  responseSnippet: string;
  scheduledAt: Date;
  attemptedAt: Date;
}

// The delivery schedule: due messages claimed under a lease, attempts recorded, endpoints' health and disabling.
@Injectable()
export class DeliveryRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Claims up to `limit` due messages with `token`. SKIP LOCKED lets instances share the work; the claim moves the
   * message's next_attempt_at to the end of the lease, so an attempt whose dispatcher died becomes due again by itself.
   */
  claimDue(limit: number, token: string, leaseMs: number): Promise<ClaimRow[]> {
    return this.sql.query<ClaimRow>(
      `WITH due AS (
         SELECT id, next_attempt_at FROM messages
          WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED)
       UPDATE messages m
          SET attempts = m.attempts + 1, schedule_step = m.schedule_step + 1, claim_token = $2,
              claimed_until = now() + make_interval(secs => $3::double precision / 1000),
              next_attempt_at = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
         FROM due
        WHERE m.id = due.id
       RETURNING m.id, m.claim_token, m.tenant_id, m.task_id, m.event_type, m.endpoint_id, m.url, m.body,
                 m.attempts, m.schedule_step, due.next_attempt_at AS scheduled_at, m.traceparent`,
      [limit, token, leaseMs],
    );
  }

  /** Milliseconds until the earliest scheduled attempt (negative when overdue), or null when nothing is scheduled. */
  async nextDueInMs(): Promise<number | null> {
    const row = await this.sql.maybe<{ due_in_ms: number | null }>(
      `SELECT (extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS due_in_ms
         FROM messages WHERE status = 'pending'`,
    );
    return row?.due_in_ms ?? null;
  }

  /**
   * The deliveries waiting for an attempt (due, scheduled or being attempted) and the age in seconds of the oldest
   * (from its message's creation; 0 when none). One statement over the pending rows (the messages_due index).
   */
  async backlog(): Promise<{ waiting: number; oldestAgeSeconds: number }> {
    const row = await this.sql.one<{ waiting: number; oldest_age_seconds: number }>(
      `SELECT count(*)::int AS waiting,
              COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
         FROM messages WHERE status = 'pending'`,
    );
    return { waiting: row.waiting, oldestAgeSeconds: Math.max(0, row.oldest_age_seconds) };
  }

  /** Endpoints disabled now (gone, failing too long, or by hand). Endpoints are few: a cap per tenant. */
  async disabledEndpoints(): Promise<number> {
    const row = await this.sql.one<{ disabled: number }>(
      `SELECT count(*)::int AS disabled FROM endpoints WHERE status = 'disabled'`,
    );
    return row.disabled;
  }

  signingEndpoints(ids: readonly string[]): Promise<SigningEndpointRow[]> {
    return this.sql.query<SigningEndpointRow>(
      `SELECT id, tenant_id, url, status, secret, previous_secret, previous_secret_expires_at
         FROM endpoints WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }

  taskSecrets(tenantIds: readonly string[]): Promise<TaskSecretsRow[]> {
    return this.sql.query<TaskSecretsRow>(
      `SELECT tenant_id, secret, previous_secret, previous_secret_expires_at FROM task_secrets
        WHERE tenant_id = ANY($1::text[])`,
      [tenantIds],
    );
  }

  /**
   * Stores the outcomes whose claim still holds (the message is pending with the same claim token) and their attempt
   * log rows; answers the ids of the messages whose outcome was stored.
   */
  async recordOutcomes(tx: Sql, outcomes: readonly AttemptOutcomeRow[]): Promise<Set<string>> {
    const kept = await tx.query<{ id: string }>(
      `UPDATE messages m
          SET status = v.status, next_attempt_at = v.next_attempt_at, claimed_until = NULL, claim_token = NULL,
              last_status = v.http_status, last_error = v.error, updated_at = now(),
              delivered_at = CASE WHEN v.status = 'delivered' THEN now() ELSE m.delivered_at END,
              dead_lettered_at = CASE WHEN v.status = 'dead_lettered' THEN now() ELSE NULL END
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::int[], $6::text[])
              AS v (id, claim_token, status, next_attempt_at, http_status, error)
        WHERE m.id = v.id AND m.claim_token = v.claim_token AND m.status = 'pending'
       RETURNING m.id`,
      [
        outcomes.map((o) => o.messageId),
        outcomes.map((o) => o.claimToken),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.nextAttemptAt),
        outcomes.map((o) => o.httpStatus),
        outcomes.map((o) => o.error),
      ],
    );
    const keptIds = new Set(kept.map((k) => k.id));
    const recorded = outcomes.filter((o) => keptIds.has(o.messageId));
    if (!recorded.length) return keptIds;
    await tx.execute(
      `INSERT INTO attempts (message_id, attempt, tenant_id, endpoint_id, url, outcome, http_status, latency_ms,
                             response_snippet, error, scheduled_at, attempted_at, next_attempt_at)
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::int[],
                            $8::int[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[],
                            $13::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        recorded.map((o) => o.messageId),
        recorded.map((o) => o.attempt),
        recorded.map((o) => o.tenantId),
        recorded.map((o) => o.endpointId),
        recorded.map((o) => o.url),
        recorded.map((o) => o.outcome),
        recorded.map((o) => o.httpStatus),
        recorded.map((o) => o.latencyMs),
        recorded.map((o) => o.responseSnippet),
        recorded.map((o) => o.error),
        recorded.map((o) => o.scheduledAt),
        recorded.map((o) => o.attemptedAt),
        recorded.map((o) => o.nextAttemptAt),
      ],
    );
    return keptIds;
  }

  async clearFailing(tx: Sql, endpointIds: readonly string[]): Promise<void> {
    await tx.execute(
      `UPDATE endpoints SET failing_since = NULL WHERE id = ANY($1::uuid[]) AND failing_since IS NOT NULL`,
      [endpointIds],
    );
  }

  async markFailing(tx: Sql, endpointIds: readonly string[]): Promise<void> {
    await tx.execute(
      `UPDATE endpoints SET failing_since = now() WHERE id = ANY($1::uuid[]) AND failing_since IS NULL`,
      [endpointIds],
    );
  }

  /** Of the given endpoints, the enabled ones failing for longer than `failingMs`. */
  async failingLongerThan(tx: Sql, endpointIds: readonly string[], failingMs: number): Promise<string[]> {
    const rows = await tx.query<{ id: string }>(
      `SELECT id FROM endpoints
        WHERE id = ANY($1::uuid[]) AND status = 'enabled'
          AND failing_since < now() - make_interval(secs => $2::double precision / 1000)`,
      [endpointIds, failingMs],
    );
    return rows.map((r) => r.id);
  }

  /** Disables an enabled endpoint; undefined when it was not enabled. */
  disableEndpoint(
    tx: Sql,
    endpointId: string,
    reason: string,
    message: string,
  ): Promise<{ tenant_id: string; url: string; disabled_at: Date } | undefined> {
    return tx.maybe(
      `UPDATE endpoints SET status = 'disabled', disabled_reason = $2, disabled_message = $3, disabled_at = now(),
              updated_at = now()
        WHERE id = $1 AND status = 'enabled'
       RETURNING tenant_id, url, disabled_at`,
      [endpointId, reason, message],
    );
  }

  /** Dead-letters what was still scheduled for the endpoint. */
  deadLetterPending(tx: Sql, endpointId: string, lastError: string): Promise<DeadRow[]> {
    return tx.query<DeadRow>(
      `UPDATE messages SET status = 'dead_lettered', dead_lettered_at = now(), next_attempt_at = NULL,
              claimed_until = NULL, claim_token = NULL, last_error = $2, updated_at = now()
        WHERE endpoint_id = $1 AND status = 'pending'
       RETURNING id, tenant_id, task_id, event_type, endpoint_id, attempts`,
      [endpointId, lastError],
    );
  }
}

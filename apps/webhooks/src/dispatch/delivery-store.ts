import {
  webhookDeliveryAttemptedEvent,
  webhookEndpointDisabledEvent,
  type WebhookEventType,
  webhookMessageDeadLetteredEvent,
} from '@deliberate/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { redactUrl } from '../messages/webhook-payload';
import { Outbox, type OutboxDraft, type OutboxMessage } from '@deliberate/outbox';
import { type ColumnCipher, Sql } from '@deliberate/persistence';
import { WebhooksMetrics } from './webhooks-metrics';
import { type DeadRow, DeliveryRepository } from './delivery.repository';
import { WEBHOOK_SECRET_CIPHER } from '../signing/secrets-at-rest';
import { endpointSecretContext, taskSecretContext } from '../signing/signing-secret.repository';

/** A due attempt, claimed: nobody else sends it until the lease ends. */
export interface ClaimedAttempt {
  messageId: string;
  claimToken: string;
  tenantId: string;
  taskId: string;
  eventType: WebhookEventType;
  endpointId: string | null;
  /** The task's webhookUrl; null for an endpoint (its current URL is used). */
  url: string | null;
  body: string;
  attempt: number;
  /** Position of this attempt in the current round of the retry schedule (1-based). */
  step: number;
  scheduledAt: Date;
  /** The trace of the task the message announces (W3C traceparent), when it was consumed under one. */
  traceparent: string | null;
}

export interface SigningTarget {
  url: string;
  status: 'enabled' | 'disabled';
  secrets: string[];
}

/**
 * Why an attempt did not deliver, in a few words a metric can carry: the class of the HTTP status the receiver
 * answered, or what stopped the request (a timeout, the connection, the SSRF guard, the target's state).
 */
export type AttemptErrorType =
  | '1xx'
  | '3xx'
  | '4xx'
  | '5xx'
  | 'invalid_status'
  | 'timeout'
  | 'connection'
  | 'ssrf_refused'
  | 'endpoint_missing'
  | 'endpoint_disabled'
  | 'task_secret_missing';

/** What one attempt came to, and what follows from it. */
export interface AttemptRecord {
  claim: ClaimedAttempt;
  url: string;
  outcome: 'delivered' | 'failed' | 'refused';
  /** Null when delivered. */
  errorType: AttemptErrorType | null;
  httpStatus: number | null;
  latencyMs: number;
  responseSnippet: string;
  error: string | null;
  attemptedAt: Date;
  /** The next attempt, or null: delivered, or no attempt left (dead letter). */
  nextAttemptAt: Date | null;
  /** The endpoint answered 410 Gone: disable it. */
  endpointGone: boolean;
}

// The secrets that sign now, decrypted (stored encrypted, bound to their row by `context`).
const secretsOf = (
  cipher: ColumnCipher,
  context: string,
  row: { secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null },
): string[] =>
  (row.previous_secret &&
  row.previous_secret_expires_at &&
  row.previous_secret_expires_at.getTime() > Date.now()
    ? [row.secret, row.previous_secret]
    : [row.secret]
  ).map((stored) => cipher.decrypt(stored, context));

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

// The durable schedule: claims due attempts under a lease, and records outcomes with their events, in bulk.
@Injectable()
export class DeliveryStore {
  constructor(
    private readonly sql: Sql,
    private readonly deliveries: DeliveryRepository,
    private readonly outbox: Outbox,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: ColumnCipher,
    private readonly metrics: WebhooksMetrics,
  ) {}

  /**
   * Claims up to `limit` due attempts. SKIP LOCKED lets instances share the work; the claim moves the message's
   * next_attempt_at to the end of the lease, so an attempt whose dispatcher died becomes due again by itself.
   */
  async claimDue(limit: number, leaseMs: number): Promise<ClaimedAttempt[]> {
    const token = randomUUID();
    const rows = await this.deliveries.claimDue(limit, token, leaseMs);
    return rows.map((r) => ({
      messageId: r.id,
      claimToken: r.claim_token,
      tenantId: r.tenant_id,
      taskId: r.task_id,
      eventType: r.event_type,
      endpointId: r.endpoint_id,
      url: r.url,
      body: r.body,
      attempt: r.attempts,
      step: r.schedule_step,
      scheduledAt: r.scheduled_at,
      traceparent: r.traceparent,
    }));
  }

  /** Milliseconds until the earliest scheduled attempt (0 if one is due), or null when nothing is scheduled. */
  async nextDueInMs(): Promise<number | null> {
    const dueIn = await this.deliveries.nextDueInMs();
    return dueIn === null || dueIn === undefined ? null : Math.max(0, Math.ceil(dueIn));
  }

  /** Endpoints by id, with the secrets that sign now (two during a rotation's overlap). */
  async endpoints(ids: readonly string[]): Promise<Map<string, SigningTarget>> {
    if (!ids.length) return new Map();
    const rows = await this.deliveries.signingEndpoints(ids);
    return new Map(
      rows.map((r) => [
        r.id,
        { url: r.url, status: r.status, secrets: secretsOf(this.cipher, endpointSecretContext(r.id), r) },
      ]),
    );
  }

  /** Each tenant's task webhook secrets; a tenant without one is missing from the map. */
  async taskSecrets(tenantIds: readonly string[]): Promise<Map<string, string[]>> {
    if (!tenantIds.length) return new Map();
    const rows = await this.deliveries.taskSecrets(tenantIds);
    return new Map(rows.map((r) => [r.tenant_id, secretsOf(this.cipher, taskSecretContext(r.tenant_id), r)]));
  }

  /**
   * Records a batch of attempts in one transaction: the attempt log, the message's new state, the endpoint's
   * health, and the events announcing all of it (outbox). An attempt whose claim was lost meanwhile (its lease
   * expired and another dispatcher took it, or the message was dead-lettered) is not recorded.
   */
  async record(records: readonly AttemptRecord[], disableAfterFailingMs: number): Promise<OutboxMessage[]> {
    if (!records.length) return [];
    const { events, recorded, deadLettered } = await this.sql.transaction(async (tx) => {
      const statusOf = (r: AttemptRecord) =>
        r.outcome === 'delivered' ? 'delivered' : r.nextAttemptAt ? 'pending' : 'dead_lettered';
      const keptIds = await this.deliveries.recordOutcomes(
        tx,
        records.map((r) => ({
          messageId: r.claim.messageId,
          claimToken: r.claim.claimToken,
          status: statusOf(r),
          nextAttemptAt: r.nextAttemptAt,
          httpStatus: r.httpStatus,
          error: r.error,
          attempt: r.claim.attempt,
          tenantId: r.claim.tenantId,
          endpointId: r.claim.endpointId,
          url: redactUrl(r.url),
          outcome: r.outcome,
          latencyMs: r.latencyMs,
          responseSnippet: r.responseSnippet,
          scheduledAt: r.claim.scheduledAt,
          attemptedAt: r.attemptedAt,
        })),
      );
      const recorded = records.filter((r) => keptIds.has(r.claim.messageId));
      if (!recorded.length) return { events: [], recorded, deadLettered: 0 };
      const events: OutboxDraft[] = recorded.map((r) => ({
        event: webhookDeliveryAttemptedEvent,
        tenantId: r.claim.tenantId,
        taskId: r.claim.taskId,
        data: {
          messageId: r.claim.messageId,
          endpointId: r.claim.endpointId,
          eventType: r.claim.eventType,
          attempt: r.claim.attempt,
          url: redactUrl(r.url),
          outcome: r.outcome,
          httpStatus:
            r.httpStatus !== null && r.httpStatus >= 100 && r.httpStatus <= 599 ? r.httpStatus : null,
          latencyMs: r.latencyMs,
          responseSnippet: truncate(r.responseSnippet, 1024),
          error: r.error === null ? null : truncate(r.error, 1000),
          nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
          attemptedAt: r.attemptedAt.toISOString(),
        },
      }));
      for (const r of recorded) {
        if (r.outcome !== 'delivered' && !r.nextAttemptAt) {
          events.push(
            deadLetterEvent(
              {
                id: r.claim.messageId,
                tenant_id: r.claim.tenantId,
                task_id: r.claim.taskId,
                event_type: r.claim.eventType,
                endpoint_id: r.claim.endpointId,
                attempts: r.claim.attempt,
              },
              r.error ?? `HTTP ${r.httpStatus}`,
            ),
          );
        }
      }
      events.push(...(await this.updateEndpointHealth(tx, recorded, disableAfterFailingMs)));
      return { events: await this.outbox.addMany(tx, events), recorded, deadLettered: deadLetters(events) };
    });
    // Counted once committed: an attempt whose claim was lost is recorded (and counted) by its new claimant.
    this.metrics.attempted(recorded);
    this.metrics.deadLettered(deadLettered);
    return events;
  }

  private async updateEndpointHealth(
    tx: Sql,
    recorded: readonly AttemptRecord[],
    disableAfterFailingMs: number,
  ): Promise<OutboxDraft[]> {
    const succeeded = new Set<string>();
    const failed = new Set<string>();
    const gone = new Set<string>();
    for (const r of recorded) {
      const id = r.claim.endpointId;
      if (!id) continue;
      if (r.outcome === 'delivered') succeeded.add(id);
      else if (r.outcome === 'failed') failed.add(id);
      if (r.endpointGone) gone.add(id);
    }
    for (const id of succeeded) failed.delete(id);
    if (succeeded.size) {
      await this.deliveries.clearFailing(tx, [...succeeded]);
    }
    if (failed.size) {
      await this.deliveries.markFailing(tx, [...failed]);
    }
    const events: OutboxDraft[] = [];
    for (const id of gone) {
      events.push(...(await this.disableEndpoint(tx, id, 'gone', 'the endpoint answered 410 Gone')));
    }
    if (failed.size) {
      const stale = await this.deliveries.failingLongerThan(
        tx,
        [...failed].filter((id) => !gone.has(id)),
        disableAfterFailingMs,
      );
      for (const id of stale) {
        events.push(
          ...(await this.disableEndpoint(
            tx,
            id,
            'sustained_failure',
            `every attempt failed for ${describeDuration(disableAfterFailingMs)}`,
          )),
        );
      }
    }
    return events;
  }

  /**
   * Disables an endpoint and dead-letters what was still scheduled for it (a replay after re-enabling sends it).
   * Returns the events to announce it; none if it was already disabled.
   */
  async disableEndpoint(
    tx: Sql,
    endpointId: string,
    reason: 'gone' | 'sustained_failure' | 'manual',
    message: string,
  ): Promise<OutboxDraft[]> {
    const endpoint = await this.deliveries.disableEndpoint(tx, endpointId, reason, message);
    if (!endpoint) return [];
    const lastError = `endpoint disabled (${reason}): ${message}`;
    const dead = await this.deliveries.deadLetterPending(tx, endpointId, lastError);
    return [
      {
        event: webhookEndpointDisabledEvent,
        tenantId: endpoint.tenant_id,
        taskId: null,
        data: {
          endpointId,
          url: redactUrl(endpoint.url),
          reason,
          message: truncate(message, 1000),
          disabledAt: endpoint.disabled_at.toISOString(),
        },
      },
      ...dead.map((d) => deadLetterEvent(d, lastError)),
    ];
  }
}

/** 432000000 → "5 d", 5400000 → "1.5 h", 2000 → "2 s". */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1_000, 's'],
  ];
  const [size, unit] = units.find(([u]) => ms >= u) ?? [1, 'ms'];
  return `${Math.round((ms / size) * 10) / 10} ${unit}`;
}

/** How many of the events announce a dead letter: a message given up, after its last attempt or with its endpoint. */
export function deadLetters(events: readonly OutboxDraft[]): number {
  return events.filter((e) => e.event === webhookMessageDeadLetteredEvent).length;
}

function deadLetterEvent(row: DeadRow, lastError: string): OutboxDraft {
  return {
    event: webhookMessageDeadLetteredEvent,
    tenantId: row.tenant_id,
    taskId: row.task_id,
    data: {
      messageId: row.id,
      endpointId: row.endpoint_id,
      eventType: row.event_type,
      attempts: row.attempts,
      lastError: truncate(lastError, 1000),
      deadLetteredAt: new Date().toISOString(),
    },
  };
}

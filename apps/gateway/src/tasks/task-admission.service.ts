import {
  taskAcceptedEvent,
  type TaskSpec,
  type taskSubmissionSchema,
  usdToMicroUsd,
  uuidv7,
} from '@deliberate/contracts';
import { PermanentError } from '@deliberate/kafka';
import {
  type DeadOutboxMessage,
  Outbox,
  type OutboxMessage,
  OutboxPayloadError,
  OutboxRelay,
} from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { ConflictException, Inject, Injectable, Logger, UnprocessableEntityException } from '@nestjs/common';
import type { z } from 'zod';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { QuotaService } from '../quotas/quota.service';
import { requestHash } from './canonical-hash';
import { routeLabel, TaskMetrics } from './task-metrics';
import type { TaskRecord } from './task-record';
import { TaskRepository } from './task.repository';
import { unpublishableTask } from './unpublishable-task';

type ParsedSubmission = z.output<typeof taskSubmissionSchema>;

// The accepted event is safe in the outbox once the task is stored: a broker that does not answer delays the client's
// 202 by at most this, and the publish goes on without it (the outbox sweep retries what it could not send).
const PUBLISH_WAIT_MS = 1_000;

async function waitAtMost(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** 409: a request with the same Idempotency-Key is being admitted; retried, it gets that request's answer. */
export class RequestInProgressException extends ConflictException {
  readonly retryAfterSeconds = 1;

  constructor(idempotencyKey: string) {
    super(
      `request in progress: a submission with Idempotency-Key '${idempotencyKey}' is being admitted; retry it with the same key for its answer`,
    );
  }
}

export interface Admission {
  task: TaskRecord;
  /** True when an earlier identical submission is answered again. */
  replayed: boolean;
}

export function toTaskSpec(s: ParsedSubmission, apiKeyId: string | null = null): TaskSpec {
  return {
    input: s.input,
    context: s.context ?? [],
    mode: s.mode,
    latencyBudgetMs: s.latencyBudgetMs ?? null,
    maxCostMicroUsd: s.maxCostUsd !== undefined ? usdToMicroUsd(s.maxCostUsd) : null,
    maxThinkingTokens: s.maxThinkingTokens ?? null,
    reasoningEffort: s.reasoningEffort ?? null,
    webhookUrl: s.webhookUrl ?? null,
    metadata: s.metadata ?? {},
    project: s.project ?? null,
    apiKeyId,
  };
}

interface Stored {
  task: TaskRecord;
  created: boolean;
  /** The accepted event, written with the task when this call created it. */
  accepted: OutboxMessage | null;
}

// The single admission point for tasks, whether they come over HTTP or from the Kafka intake topic: the task and
// its accepted event are stored in one transaction (the outbox), and the event is published right after the commit.
@Injectable()
export class TaskAdmissionService {
  private readonly logger = new Logger(TaskAdmissionService.name);

  constructor(
    private readonly sql: Sql,
    private readonly tasks: TaskRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly quotas: QuotaService,
    private readonly metrics: TaskMetrics,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    relay.onDead((tx, dead) => this.failUnpublishable(tx, dead));
  }

  async admitHttp(
    tenantId: string,
    submission: ParsedSubmission,
    idempotencyKey: string | null,
    apiKeyId: string | null = null,
  ): Promise<Admission> {
    const hash = requestHash(submission);
    const record = this.newRecord(uuidv7(), tenantId, submission, 'http', idempotencyKey, hash, apiKeyId);
    // The tenant's limit of unfinished tasks is checked in the transaction that inserts, under the tenant's lock.
    // Requests with one key meet before the insert: one is admitted, the others are told at once to come back for
    // its answer instead of queueing behind it.
    const claimKey =
      idempotencyKey === null
        ? undefined
        : async (tx: Sql) => {
            if (!(await this.tasks.tryLockIdempotencyKey(tx, tenantId, idempotencyKey))) {
              throw new RequestInProgressException(idempotencyKey);
            }
          };
    const { task, created, accepted } = await this.quotas.admitWithinUnfinishedLimit(
      tenantId,
      (tx) => this.store(tx, record),
      claimKey,
    );
    if (!created) {
      if (task.requestHash !== hash) {
        throw new UnprocessableEntityException(
          `Idempotency-Key '${idempotencyKey}' was already used with a different request body (task ${task.id}); use a new key for a new task`,
        );
      }
      return { task, replayed: true };
    }
    this.metrics.statusChanged(task.status, 'none');
    // A publish that fails leaves the event to the outbox sweep; the client still gets its 202.
    await waitAtMost(this.relay.publish([accepted!]), PUBLISH_WAIT_MS);
    return { task, replayed: false };
  }

  async admitFromKafka(tenantId: string, taskId: string, submission: ParsedSubmission): Promise<Admission> {
    const hash = requestHash(submission);
    const record = this.newRecord(taskId, tenantId, submission, 'kafka', null, hash);
    const { task, created, accepted } = await this.sql
      .transaction((tx) => this.store(tx, record))
      .catch((e: unknown) => {
        // An event that could never be published is refused for good: retrying the intake message cannot help.
        throw e instanceof OutboxPayloadError ? new PermanentError(e.message) : e;
      });
    if (!created) {
      if (task.tenantId !== tenantId || task.requestHash !== hash) {
        throw new PermanentError(`task id ${taskId} is already used by a different submission`);
      }
      return { task, replayed: true };
    }
    this.metrics.statusChanged(task.status, 'none');
    // The event is in the outbox with the task: the intake message may be committed whether this publish works or not.
    await this.relay.publish([accepted!]);
    return { task, replayed: false };
  }

  private async store(tx: Sql, record: TaskRecord): Promise<Stored> {
    const { task, created } = await this.tasks.insertOrGetExisting(record, tx);
    if (!created) return { task, created, accepted: null };
    const accepted = await this.outbox.add(
      tx,
      taskAcceptedEvent,
      { spec: task.spec, submittedVia: task.submittedVia, acceptedAt: task.createdAt.toISOString() },
      { tenantId: task.tenantId, taskId: task.id },
    );
    return { task, created, accepted };
  }

  // Admission refuses such tasks now; one stored before (or under a higher KAFKA_MAX_MESSAGE_BYTES) fails instead.
  private async failUnpublishable(tx: Sql, dead: readonly DeadOutboxMessage[]): Promise<void> {
    const failed = dead.flatMap((d) => unpublishableTask(d, this.config.KAFKA_MAX_MESSAGE_BYTES) ?? []);
    for (const f of failed) {
      this.logger.warn({
        msg: 'accepted event can never be published; task failed',
        taskId: f.taskId,
        code: f.error.code,
      });
    }
    // Counted before the commit: a handler that fails leaves the rows to the next sweep, which counts them again.
    const routes = await this.tasks.failUnpublishable(tx, failed);
    for (const route of routes) this.metrics.statusChanged('failed', routeLabel(route));
  }

  private newRecord(
    id: string,
    tenantId: string,
    submission: ParsedSubmission,
    submittedVia: 'http' | 'kafka',
    idempotencyKey: string | null,
    hash: string,
    apiKeyId: string | null = null,
  ): TaskRecord {
    const now = new Date();
    return {
      id,
      tenantId,
      status: 'accepted',
      spec: toTaskSpec(submission, apiKeyId),
      submittedVia,
      idempotencyKey,
      requestHash: hash,
      triage: null,
      result: null,
      error: null,
      escalation: null,
      cancellation: null,
      createdAt: now,
      updatedAt: now,
    };
  }
}

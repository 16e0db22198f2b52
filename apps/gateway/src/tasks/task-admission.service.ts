import {
  taskAcceptedEvent,
  type TaskSpec,
  type taskSubmissionSchema,
  usdToMicroUsd,
  uuidv7,
} from '@deliberate/contracts';
import { EventPublisher, PermanentError } from '@deliberate/kafka';
import { Injectable, Logger, UnprocessableEntityException } from '@nestjs/common';
import type { z } from 'zod';
import { QuotaService } from '../quotas/quota.service';
import { requestHash } from './canonical-hash';
import { PublishedMarker } from './published-marker';
import type { TaskRecord } from './task-record';
import { TaskRepository } from './task.repository';

type ParsedSubmission = z.output<typeof taskSubmissionSchema>;

export interface Admission {
  task: TaskRecord;
  /** True when an earlier identical submission is answered again. */
  replayed: boolean;
}

export function toTaskSpec(s: ParsedSubmission): TaskSpec {
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
  };
}

// The single admission point for tasks, whether they come over HTTP or from the Kafka intake topic:
// the task is stored first, then announced; the outbox relay announces any whose publish was lost.
@Injectable()
export class TaskAdmissionService {
  private readonly logger = new Logger(TaskAdmissionService.name);

  constructor(
    private readonly tasks: TaskRepository,
    private readonly publisher: EventPublisher,
    private readonly marker: PublishedMarker,
    private readonly quotas: QuotaService,
  ) {}

  async admitHttp(
    tenantId: string,
    submission: ParsedSubmission,
    idempotencyKey: string | null,
  ): Promise<Admission> {
    const hash = requestHash(submission);
    const record = this.newRecord(uuidv7(), tenantId, submission, 'http', idempotencyKey, hash);
    // The tenant's limit of unfinished tasks is checked in the transaction that inserts, under the tenant's lock.
    const { task, created } = await this.quotas.admitWithinUnfinishedLimit(tenantId, (tx) =>
      this.tasks.insertOrGetExisting(record, tx),
    );
    if (!created) {
      if (task.requestHash !== hash) {
        throw new UnprocessableEntityException(
          `Idempotency-Key '${idempotencyKey}' was already used with a different request body (task ${task.id}); use a new key for a new task`,
        );
      }
      await this.ensurePublished(task);
      return { task, replayed: true };
    }
    await this.publishOrLeaveToOutbox(task);
    return { task, replayed: false };
  }

  async admitFromKafka(tenantId: string, taskId: string, submission: ParsedSubmission): Promise<Admission> {
    const hash = requestHash(submission);
    const { task, created } = await this.tasks.insertOrGetExisting(
      this.newRecord(taskId, tenantId, submission, 'kafka', null, hash),
    );
    if (!created) {
      if (task.tenantId !== tenantId || task.requestHash !== hash) {
        throw new PermanentError(`task id ${taskId} is already used by a different submission`);
      }
      await this.ensurePublished(task);
      return { task, replayed: true };
    }
    // On the Kafka path a failed publish must fail the handler: the intake message is retried, not committed.
    await this.publishAccepted(task);
    return { task, replayed: false };
  }

  async publishAccepted(task: TaskRecord): Promise<void> {
    await this.announce(task);
    await this.marker.mark(task.id);
  }

  /** Publishes tasks.task.accepted.v1 without marking the row (the outbox relay marks it in its own transaction). */
  async announce(task: TaskRecord): Promise<void> {
    await this.publisher.publish(taskAcceptedEvent, {
      tenantId: task.tenantId,
      taskId: task.id,
      data: { spec: task.spec, submittedVia: task.submittedVia, acceptedAt: task.createdAt.toISOString() },
    });
  }

  private async ensurePublished(task: TaskRecord): Promise<void> {
    if (!task.publishedAt) await this.publishAccepted(task);
  }

  private async publishOrLeaveToOutbox(task: TaskRecord): Promise<void> {
    try {
      await this.announce(task);
      // The client need not wait for the bookkeeping; a lost mark costs one more announcement, nothing else.
      this.marker.mark(task.id).catch(() => undefined);
    } catch (e) {
      // The task is stored; the outbox relay will announce it. The client still gets its 202.
      this.logger.warn({
        msg: 'accepted event not published; left to the outbox relay',
        taskId: task.id,
        error: (e as Error).message,
      });
    }
  }

  private newRecord(
    id: string,
    tenantId: string,
    submission: ParsedSubmission,
    submittedVia: 'http' | 'kafka',
    idempotencyKey: string | null,
    hash: string,
  ): TaskRecord {
    const now = new Date();
    return {
      id,
      tenantId,
      status: 'accepted',
      spec: toTaskSpec(submission),
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
      publishedAt: null,
    };
  }
}

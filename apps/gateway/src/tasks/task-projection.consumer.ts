import {
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskReasoningStartedEvent,
  taskTriagedEvent,
} from '@deliberate/contracts';
import { retryWhileUnavailable } from '@deliberate/retry';
import { handle, KafkaLifecycle } from '@deliberate/kafka';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { TaskRepository } from './task.repository';

// Feeds the task read model from the lifecycle events, whichever service published them. An unreachable database
// is waited for within each attempt: a task's answer is never dead-lettered for an outage, leaving its poll unanswered.
@Injectable()
export class TaskProjectionConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(TaskProjectionConsumer.name);

  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly tasks: TaskRepository,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'gateway.projection',
      handlers: [
        handle(taskTriagedEvent, async (e, meta) => {
          const { decision } = e.data;
          await this.apply(
            e.tenantId,
            e.taskId!,
            {
              status: decision.route === 'reasoning' ? 'queued_for_reasoning' : 'triaging',
              triage: decision,
            },
            meta.signal,
          );
        }),
        handle(taskCompletedEvent, (e, meta) =>
          this.apply(e.tenantId, e.taskId!, { status: 'completed', result: e.data.result }, meta.signal),
        ),
        handle(taskFailedEvent, (e, meta) =>
          this.apply(e.tenantId, e.taskId!, { status: 'failed', error: e.data.error }, meta.signal),
        ),
        handle(taskReasoningStartedEvent, (e, meta) =>
          this.apply(e.tenantId, e.taskId!, { status: 'reasoning' }, meta.signal),
        ),
        handle(taskEscalatedEvent, (e, meta) =>
          this.apply(
            e.tenantId,
            e.taskId!,
            {
              status: 'needs_human',
              escalation: {
                reason: e.data.reason,
                attempts: e.data.attempts,
                escalatedAt: e.data.escalatedAt,
              },
            },
            meta.signal,
          ),
        ),
        handle(taskCancelledEvent, (e, meta) =>
          this.apply(
            e.tenantId,
            e.taskId!,
            {
              status: 'cancelled',
              cancellation: { reason: e.data.reason, cancelledAt: e.data.cancelledAt },
            },
            meta.signal,
          ),
        ),
      ],
    });
  }

  private async apply(
    tenantId: string,
    taskId: string,
    update: Parameters<TaskRepository['applyProjection']>[2],
    signal: AbortSignal | undefined,
  ) {
    // Most of the attempt's time budget (an attempt past it is dead-lettered at once); then the consumer's own retries.
    const applied = await retryWhileUnavailable(() => this.tasks.applyProjection(tenantId, taskId, update), {
      giveUpAtMs: Date.now() + this.config.KAFKA_HANDLER_TIMEOUT_MS * 0.8,
      signal,
      onWait: (outage, delayMs) =>
        this.logger.warn({
          msg: 'waiting for the database to project a task event',
          taskId,
          ...outage,
          delayMs,
        }),
    });
    // Every lifecycle event follows the task's admission, so an unknown task is a lagging read, worth a retry.
    if (!applied) {
      throw new Error(`task ${taskId} of tenant ${tenantId} is not in the read model yet`);
    }
  }
}

import {
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskReasoningStartedEvent,
  taskTriagedEvent,
} from '@deliberate/contracts';
import { handle, KafkaLifecycle } from '@deliberate/kafka';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { routeLabel, TaskMetrics } from './task-metrics';
import { TaskRepository } from './task.repository';

// Feeds the task read model from the lifecycle events, whichever service published them. The shared consumer waits
// for an unreachable database within each attempt: a task's answer is never dead-lettered for an outage.
@Injectable()
export class TaskProjectionConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly tasks: TaskRepository,
    private readonly metrics: TaskMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'gateway.projection',
      handlers: [
        handle(taskTriagedEvent, async (e) => {
          const { decision } = e.data;
          await this.apply(e.tenantId, e.taskId!, {
            status: decision.route === 'reasoning' ? 'queued_for_reasoning' : 'triaging',
            triage: decision,
          });
        }),
        handle(taskCompletedEvent, (e) =>
          this.apply(e.tenantId, e.taskId!, { status: 'completed', result: e.data.result }),
        ),
        handle(taskFailedEvent, (e) =>
          this.apply(e.tenantId, e.taskId!, { status: 'failed', error: e.data.error }),
        ),
        handle(taskReasoningStartedEvent, (e) => this.apply(e.tenantId, e.taskId!, { status: 'reasoning' })),
        handle(taskEscalatedEvent, (e) =>
          this.apply(e.tenantId, e.taskId!, {
            status: 'needs_human',
            escalation: { reason: e.data.reason, attempts: e.data.attempts, escalatedAt: e.data.escalatedAt },
          }),
        ),
        handle(taskCancelledEvent, (e) =>
          this.apply(e.tenantId, e.taskId!, {
            status: 'cancelled',
            cancellation: { reason: e.data.reason, cancelledAt: e.data.cancelledAt },
          }),
        ),
      ],
    });
  }

  private async apply(
    tenantId: string,
    taskId: string,
    update: Parameters<TaskRepository['applyProjection']>[2],
  ) {
    const applied = await this.tasks.applyProjection(tenantId, taskId, update);
    // Every lifecycle event follows the task's admission, so an unknown task is a lagging read, worth a retry.
    if (!applied) throw new Error(`task ${taskId} of tenant ${tenantId} is not in the read model yet`);
    // A redelivered or late event changed no status: counted once, by the event that moved the row.
    if (applied.moved) this.metrics.statusChanged(update.status, routeLabel(applied.route));
  }
}

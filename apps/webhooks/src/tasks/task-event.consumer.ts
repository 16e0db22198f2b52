import {
  taskAcceptedEvent,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
} from '@deliberate/contracts';
import { handle, KafkaLifecycle, PermanentError } from '@deliberate/kafka';
import { JobRunMetrics } from '@deliberate/metrics';
import { PeriodicJob } from '@deliberate/persistence';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { WEBHOOKS_CONFIG, type WebhooksConfig } from '../config';
import { MessageIntake } from '../messages/message-intake';
import type { TerminalEvent } from '../messages/webhook-payload';

const RELEASE_INTERVAL_MS = 5_000;

// Remembers accepted tasks (their webhookUrl and metadata) and turns every terminal task event into messages.
@Injectable()
export class TaskEventConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  // Terminal events that waited too long for their task's accepted event are released without it.
  private readonly releaser: PeriodicJob;

  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly intake: MessageIntake,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
    runs: JobRunMetrics,
  ) {
    this.releaser = new PeriodicJob(
      {
        name: 'release waiting events',
        intervalMs: Math.max(100, Math.min(RELEASE_INTERVAL_MS, config.WEBHOOKS_ACCEPTED_WAIT_MS)),
        logger: new Logger(TaskEventConsumer.name),
        runs,
      },
      async () => {
        await this.intake.releaseOverdue();
      },
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    const terminal = (
      envelope: { id: string; tenantId: string; taskId: string | null },
      event: TerminalEvent,
    ) => {
      if (!envelope.taskId) throw new PermanentError(`${event.type} event ${envelope.id} names no task`);
      return this.intake.terminalEvent(envelope.id, envelope.tenantId, envelope.taskId, event);
    };
    await this.kafka.startConsumer({
      group: 'webhooks.tasks',
      concurrency: this.config.WEBHOOKS_CONSUMER_CONCURRENCY,
      handlers: [
        handle(taskAcceptedEvent, async (e) => {
          if (!e.taskId) throw new PermanentError(`accepted event ${e.id} names no task`);
          await this.intake.taskAccepted(e.tenantId, e.taskId, e.data.spec, e.data.acceptedAt);
        }),
        handle(taskCompletedEvent, (e) => terminal(e, { type: 'task.completed', data: e.data })),
        handle(taskFailedEvent, (e) => terminal(e, { type: 'task.failed', data: e.data })),
        handle(taskEscalatedEvent, (e) => terminal(e, { type: 'task.escalated', data: e.data })),
        handle(taskCancelledEvent, (e) => terminal(e, { type: 'task.cancelled', data: e.data })),
      ],
    });
    this.releaser.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.releaser.stop();
  }
}

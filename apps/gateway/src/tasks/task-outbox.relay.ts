import type { TaskError } from '@deliberate/contracts';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { acceptedEventBytes } from './accepted-event-size';
import type { TaskRecord } from './task-record';
import { TaskAdmissionService } from './task-admission.service';
import { TaskRepository } from './task.repository';

// Republishes accepted tasks whose event was lost between the insert and the publish (a crash, a broker outage).
@Injectable()
export class TaskOutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TaskOutboxRelay.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly tasks: TaskRepository,
    private readonly admission: TaskAdmissionService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.relayOnce().then(() => void (this.running = null));
    }, this.config.GATEWAY_OUTBOX_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async relayOnce(): Promise<number> {
    try {
      const count = await this.tasks.claimUnpublished(this.config.GATEWAY_OUTBOX_INTERVAL_MS, 500, (task) =>
        this.announceOrRefuse(task),
      );
      if (count) this.logger.log({ msg: 'republished accepted tasks', count });
      return count;
    } catch (e) {
      this.logger.warn({ msg: 'outbox relay failed; will retry', error: (e as Error).message });
      return 0;
    }
  }

  // Admission refuses such tasks now; one stored before (or under a higher KAFKA_MAX_MESSAGE_BYTES) would be
  // refused by Kafka on every attempt, and would hold up every row behind it.
  private async announceOrRefuse(task: TaskRecord): Promise<TaskError | null> {
    const bytes = acceptedEventBytes(task.spec, task.submittedVia);
    const limit = this.config.KAFKA_MAX_MESSAGE_BYTES;
    if (bytes > limit) {
      this.logger.warn({ msg: 'task too large to publish; failed instead', taskId: task.id, bytes, limit });
      return {
        code: 'task_too_large',
        message: `the task's event would take ${bytes} bytes, above the Kafka message limit of ${limit} bytes`,
      };
    }
    await this.admission.announce(task);
    return null;
  }
}

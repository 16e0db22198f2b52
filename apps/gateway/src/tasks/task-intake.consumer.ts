import { taskSubmittedEvent } from '@deliberate/contracts';
import { handle, KafkaLifecycle, PermanentError } from '@deliberate/kafka';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AuthService } from '../auth/auth.service';
import { TaskAdmissionService } from './task-admission.service';

// Upstream systems publish tasks onto tasks.task.submitted.v1; they are admitted exactly like HTTP submissions.
@Injectable()
export class TaskIntakeConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly admission: TaskAdmissionService,
    private readonly auth: AuthService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'gateway.intake',
      handlers: [
        handle(taskSubmittedEvent, async (event) => {
          if (!(await this.auth.tenantExists(event.tenantId))) {
            throw new PermanentError(`unknown tenant '${event.tenantId}'`);
          }
          // The codec guarantees a task id on this topic.
          await this.admission.admitFromKafka(event.tenantId, event.taskId!, event.data);
        }),
      ],
    });
  }
}

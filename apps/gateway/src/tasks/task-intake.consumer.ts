import { taskSubmittedEvent } from '@deliberate/contracts';
import { handle, KafkaLifecycle, PermanentError } from '@deliberate/kafka';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AuthService } from '../auth/auth.service';
import { IntakeSecretService } from '../intake/intake-secret.service';
import { TaskAdmissionService } from './task-admission.service';

// Upstream systems publish tasks onto tasks.task.submitted.v1; they are admitted exactly like HTTP submissions,
// once the signature shows the tenant they name sent them. Only upstream producers write this topic: the gateway's
// own HTTP admission publishes tasks.task.accepted.v1 directly. The shared consumer waits for an unreachable database
// within each attempt, so a submission is not dead-lettered for an outage.
@Injectable()
export class TaskIntakeConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly admission: TaskAdmissionService,
    private readonly auth: AuthService,
    private readonly intake: IntakeSecretService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'gateway.intake',
      handlers: [
        handle(taskSubmittedEvent, async (event, meta) => {
          if (!(await this.auth.tenantExists(event.tenantId))) {
            throw new PermanentError(`unknown tenant '${event.tenantId}'`);
          }
          // The codec guarantees a task id on this topic, and a value.
          const taskId = event.taskId!;
          await this.intake.authenticate({
            tenantId: event.tenantId,
            taskId,
            value: meta.value ?? Buffer.alloc(0),
            headers: meta.headers,
            messageTimestampMs: meta.timestampMs,
          });
          await this.admission.admitFromKafka(event.tenantId, taskId, event.data);
        }),
      ],
    });
  }
}

import { taskSubmittedEvent } from '@deliberate/contracts';
import { retryWhileUnavailable } from '@deliberate/retry';
import { handle, KafkaLifecycle, PermanentError } from '@deliberate/kafka';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AuthService } from '../auth/auth.service';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { IntakeSecretService } from '../intake/intake-secret.service';
import { TaskAdmissionService } from './task-admission.service';

// Upstream systems publish tasks onto tasks.task.submitted.v1; they are admitted exactly like HTTP submissions,
// once the signature shows the tenant they name sent them. Only upstream producers write this topic: the gateway's
// own HTTP admission publishes tasks.task.accepted.v1 directly. An unreachable database is waited for within each
// attempt, so a submission is not dead-lettered for an outage.
@Injectable()
export class TaskIntakeConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(TaskIntakeConsumer.name);

  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly admission: TaskAdmissionService,
    private readonly auth: AuthService,
    private readonly intake: IntakeSecretService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'gateway.intake',
      handlers: [
        handle(taskSubmittedEvent, async (event, meta) => {
          await retryWhileUnavailable(
            async () => {
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
            },
            {
              giveUpAtMs: Date.now() + this.config.KAFKA_HANDLER_TIMEOUT_MS * 0.8,
              signal: meta.signal,
              onWait: (outage, delayMs) =>
                this.logger.warn({
                  msg: 'waiting for the database to admit a submission',
                  ...outage,
                  delayMs,
                }),
            },
          );
        }),
      ],
    });
  }
}

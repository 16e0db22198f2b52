import { reasoningRequestedEvent } from '@deliberate/contracts';
import { type EventConsumer, handle, KafkaLifecycle } from '@deliberate/kafka';
import { Inject, Injectable } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { ReasoningIntakeService } from './reasoning-intake.service';

@Injectable()
export class ReasoningIntakeConsumer {
  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly intake: ReasoningIntakeService,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  /** Joins the intake group; resolves once joined. Started by ReasonerLifecycle, after recovery began. */
  start(): Promise<EventConsumer> {
    return this.kafka.startConsumer({
      group: 'reasoner.intake',
      concurrency: this.config.REASONER_INTAKE_CONCURRENCY,
      handlers: [handle(reasoningRequestedEvent, (event) => this.intake.accept(event))],
    });
  }
}

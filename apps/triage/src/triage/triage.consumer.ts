import { taskAcceptedEvent } from '@deliberate/contracts';
import { handle, KafkaLifecycle } from '@deliberate/kafka';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TRIAGE_CONFIG, type TriageConfig } from '../config';
import { TriageService } from './triage.service';

@Injectable()
export class TriageConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly triage: TriageService,
    @Inject(TRIAGE_CONFIG) private readonly config: TriageConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'triage',
      concurrency: this.config.TRIAGE_CONCURRENCY,
      handlers: [handle(taskAcceptedEvent, (event) => this.triage.triage(event))],
    });
  }
}

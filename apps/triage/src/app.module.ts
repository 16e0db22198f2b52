import {
  modelCallRecordedEvent,
  reasoningRequestedEvent,
  taskAcceptedEvent,
  taskCompletedEvent,
  taskFailedEvent,
  taskTriagedEvent,
} from '@deliberate/contracts';
import { Public } from '@deliberate/http';
import { kafkaOptionsFromConfig, KafkaModule } from '@deliberate/kafka';
import { LedgerClientModule } from '@deliberate/ledger-client';
import { LlmModule, modelTierConfigs } from '@deliberate/llm';
import { Controller, type DynamicModule, Get, Module } from '@nestjs/common';
import { TRIAGE_CONFIG, type TriageConfig } from './config';
import { ContextRanker } from './triage/context-ranker';
import { ModelUsageRecorder } from './triage/model-usage.recorder';
import { TriageConsumer } from './triage/triage.consumer';
import { TriageService } from './triage/triage.service';

@Public()
@Controller('health')
class HealthController {
  @Get()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

@Module({})
export class TriageModule {
  static forRoot(config: TriageConfig): DynamicModule {
    return {
      module: TriageModule,
      imports: [
        KafkaModule.forRoot({
          ...kafkaOptionsFromConfig('triage', config),
          topics: [
            taskAcceptedEvent,
            taskTriagedEvent,
            reasoningRequestedEvent,
            taskCompletedEvent,
            taskFailedEvent,
            modelCallRecordedEvent,
          ],
        }),
        LlmModule.forRoot(modelTierConfigs(config)),
        // The triage spends only on the cheap tier and books it after the fact; it needs the breakers, not holds.
        LedgerClientModule.forRoot({
          brokers: config.KAFKA_BROKERS,
          clientId: 'triage',
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          replicationFactor: config.KAFKA_REPLICATION_FACTOR,
          breakerStateCache: true,
          rpcClient: false,
        }),
      ],
      controllers: [HealthController],
      providers: [
        { provide: TRIAGE_CONFIG, useValue: config },
        ModelUsageRecorder,
        ContextRanker,
        TriageService,
        TriageConsumer,
      ],
    };
  }
}

import { MetricsController } from '@deliberate/http';
import { MetricsModule } from '@deliberate/metrics';
import {
  modelCallRecordedEvent,
  reasoningRequestedEvent,
  taskAcceptedEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskTriagedEvent,
} from '@deliberate/contracts';
import { kafkaOptionsFromConfig, kafkaSecurityOf, KafkaModule } from '@deliberate/kafka';
import { LedgerClientModule } from '@deliberate/ledger-client';
import { LlmModule, modelTierConfigs } from '@deliberate/llm';
import { OutboxHealthController, OutboxModule } from '@deliberate/outbox';
import { PersistenceModule } from '@deliberate/persistence';
import { TenantPolicyModule } from '@deliberate/tenant-policy';
import { type DynamicModule, Module } from '@nestjs/common';
import { TRIAGE_CONFIG, type TriageConfig } from './config';
import { CreateTriageTables1796300000000 } from './migrations/1796300000000-create-triage-tables';
import { AddTaskRetrySchedule1796700000000 } from './migrations/1796700000000-add-task-retry-schedule';
import { TriageTaskRepository } from './tasks/triage-task.repository';
import { ContextRanker } from './triage/context-ranker';
import { FastCalls } from './triage/fast-calls';
import { ModelUsageRecorder } from './triage/model-usage.recorder';
import { TriageRetries } from './triage/triage-retries';
import { TriageConsumer } from './triage/triage.consumer';
import { TriageMetrics } from './triage/triage-metrics';
import { TriageService } from './triage/triage.service';

@Module({})
export class TriageModule {
  static forRoot(config: TriageConfig): DynamicModule {
    return {
      module: TriageModule,
      imports: [
        MetricsModule.forService('triage'),
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          schema: 'triage',
          entities: [],
          migrations: [CreateTriageTables1796300000000, AddTaskRetrySchedule1796700000000],
          poolSize: config.DATABASE_POOL_SIZE,
          preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
        }),
        KafkaModule.forRoot({
          ...kafkaOptionsFromConfig('triage', config),
          topics: [
            taskAcceptedEvent,
            taskTriagedEvent,
            reasoningRequestedEvent,
            taskCompletedEvent,
            taskFailedEvent,
            taskEscalatedEvent,
            modelCallRecordedEvent,
          ],
        }),
        // Every event that follows from the task's record: written in the transaction that records it, sent once.
        OutboxModule.forRoot({
          events: [
            taskTriagedEvent,
            reasoningRequestedEvent,
            taskCompletedEvent,
            taskFailedEvent,
            taskEscalatedEvent,
          ],
          sweepIntervalMs: 1_000,
        }),
        LlmModule.forRoot(modelTierConfigs(config)),
        // Every fast-model call is held against the budget first, like the reasoner's calls.
        LedgerClientModule.forRoot({
          brokers: config.KAFKA_BROKERS,
          security: kafkaSecurityOf(config),
          clientId: 'triage',
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          replicationFactor: config.KAFKA_REPLICATION_FACTOR,
          timeoutMs: config.LEDGER_TIMEOUT_MS,
          // A reply group per instance, deleted on shutdown: a restarted instance reads its replies at once.
          replyGroupId: `${config.KAFKA_TOPIC_PREFIX}deliberate.triage.ledger-replies.${config.TRIAGE_INSTANCE_ID}`,
          ephemeralReplyGroup: true,
          breakerStateCache: true,
          callReservations: { retryBaseMs: config.TRIAGE_RETRY_BASE_MS },
        }),
        // The tenants' policies (latency threshold, context top-k and relevance floor), read before any task.
        TenantPolicyModule,
      ],
      controllers: [MetricsController, OutboxHealthController],
      providers: [
        { provide: TRIAGE_CONFIG, useValue: config },
        TriageTaskRepository,
        ModelUsageRecorder,
        FastCalls,
        ContextRanker,
        TriageMetrics,
        TriageService,
        TriageConsumer,
        TriageRetries,
      ],
    };
  }
}

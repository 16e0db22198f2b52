import { MetricsController } from '@deliberate/http';
import { MetricsModule } from '@deliberate/metrics';
import {
  budgetBreakerClosedEvent,
  budgetBreakerOpenedEvent,
  modelCallRecordedEvent,
  reasoningRequestedEvent,
  reasoningTraceRecordedEvent,
  shadowComparisonRecordedEvent,
  taskCancelledEvent,
  taskCancelRequestedEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskReasoningStartedEvent,
} from '@deliberate/contracts';
import { kafkaOptionsFromConfig, kafkaSecurityOf, KafkaModule } from '@deliberate/kafka';
import { LedgerClientModule } from '@deliberate/ledger-client';
import { LlmModule, modelTierConfigs } from '@deliberate/llm';
import { OutboxModule } from '@deliberate/outbox';
import { PersistenceModule } from '@deliberate/persistence';
import { TenantPolicyModule } from '@deliberate/tenant-policy';
import { type DynamicModule, Module } from '@nestjs/common';
import { CancelRequestConsumer } from './cancellation/cancel-request.consumer';
import { CancellationService } from './cancellation/cancellation.service';
import { REASONER_CONFIG, type ReasonerConfig } from './config';
import { ExecutionEvents } from './events/execution-events';
import { AttemptExecutor } from './execution/attempt-executor';
import { ExecutionRunner } from './execution/execution-runner';
import { ExecutionRepository } from './execution/execution.repository';
import { HealthController } from './health/health.controller';
import { ReasoningIntakeConsumer } from './intake/reasoning-intake.consumer';
import { ReasoningIntakeService } from './intake/reasoning-intake.service';
import { LeaseKeeper } from './leases/lease-keeper';
import { ReasonerMetrics } from './execution/reasoner-metrics';
import { CreateReasonerTables1795700000000 } from './migrations/1795700000000-create-reasoner-tables';
import { MoveOutcomesToOutbox1796200000000 } from './migrations/1796200000000-move-outcomes-to-outbox';
import { AddAttemptResponseId1797000000000 } from './migrations/1797000000000-add-attempt-response-id';
import { AddAttemptServiceTier1797100000000 } from './migrations/1797100000000-add-attempt-service-tier';
import { ModelBreakers } from './models/model-breakers';
import { ReasonerLifecycle } from './reasoner-lifecycle';
import { ExecutionPool } from './scheduling/execution-pool';

import { CreateShadowRuns1797200000000 } from './migrations/1797200000000-create-shadow-runs';
import { ShadowRunRepository } from './shadow/shadow-run.repository';
import { ShadowRunner } from './shadow/shadow-runner';
import { ShadowScheduler } from './shadow/shadow-scheduler';
import { CompletionRecorder } from './execution/completion-recorder';

@Module({})
export class ReasonerModule {
  static forRoot(config: ReasonerConfig): DynamicModule {
    const tiers = modelTierConfigs(config);
    return {
      module: ReasonerModule,
      imports: [
        MetricsModule.forService('reasoner'),
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          schema: 'reasoner',
          entities: [],
          migrations: [
            CreateReasonerTables1795700000000,
            MoveOutcomesToOutbox1796200000000,
            AddAttemptResponseId1797000000000,
            AddAttemptServiceTier1797100000000,
            CreateShadowRuns1797200000000,
          ],
          poolSize: config.DATABASE_POOL_SIZE,
          preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
        }),
        KafkaModule.forRoot({
          ...kafkaOptionsFromConfig('reasoner', config),
          topics: [
            reasoningRequestedEvent,
            taskCancelRequestedEvent,
            taskReasoningStartedEvent,
            reasoningTraceRecordedEvent,
            taskCompletedEvent,
            taskFailedEvent,
            taskEscalatedEvent,
            taskCancelledEvent,
            modelCallRecordedEvent,
            shadowComparisonRecordedEvent,
            budgetBreakerOpenedEvent,
            budgetBreakerClosedEvent,
          ],
        }),
        // Terminal events only: the others carry ids stored with the attempts and are sent again on recovery.
        OutboxModule.forRoot({
          events: [taskCompletedEvent, taskFailedEvent, taskEscalatedEvent, taskCancelledEvent],
          sweepIntervalMs: 1_000,
        }),
        LlmModule.forRoot({ reasoning: tiers.reasoning, standard: tiers.standard }),
        // The tenants' policies from tenants.policy.updated.v1: fallback chain, budget-denial action, limits.
        TenantPolicyModule,
        LedgerClientModule.forRoot({
          brokers: config.KAFKA_BROKERS,
          security: kafkaSecurityOf(config),
          clientId: 'reasoner',
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          replicationFactor: config.KAFKA_REPLICATION_FACTOR,
          timeoutMs: config.LEDGER_TIMEOUT_MS,
          // A group per instance: a restarted instance reads replies at once instead of waiting for its dead
          // predecessor to leave a shared group, and the instance count is not capped by the reply partitions;
          // it is deleted on shutdown, so restarts leave no groups behind.
          replyGroupId: `${config.KAFKA_TOPIC_PREFIX}deliberate.reasoner.ledger-replies.${config.REASONER_INSTANCE_ID}`,
          ephemeralReplyGroup: true,
          breakerStateCache: true,
          callReservations: { settleAttempts: config.REASONER_LEDGER_ATTEMPTS },
        }),
      ],
      controllers: [MetricsController, HealthController],
      providers: [
        { provide: REASONER_CONFIG, useValue: config },
        {
          provide: ModelBreakers,
          useFactory: () =>
            new ModelBreakers({
              failureThreshold: config.REASONER_BREAKER_FAILURES,
              cooldownMs: config.REASONER_BREAKER_COOLDOWN_MS,
            }),
        },
        ReasonerMetrics,
        ExecutionRepository,
        ExecutionEvents,
        AttemptExecutor,
        ExecutionRunner,
        ExecutionPool,
        LeaseKeeper,
        ReasoningIntakeService,
        ReasoningIntakeConsumer,
        CancellationService,
        CancelRequestConsumer,
        ShadowRunRepository,
        ShadowRunner,
        { provide: CompletionRecorder, useClass: ShadowScheduler },
        ReasonerLifecycle,
      ],
    };
  }
}

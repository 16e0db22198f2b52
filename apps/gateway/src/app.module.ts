import { MetricsModule } from '@deliberate/metrics';
import {
  taskAcceptedEvent,
  taskCancelledEvent,
  taskCancelRequestedEvent,
  taskEscalatedEvent,
  taskReasoningStartedEvent,
  taskCompletedEvent,
  taskFailedEvent,
  taskSubmittedEvent,
  taskTriagedEvent,
  tenantPolicyUpdatedEvent,
} from '@deliberate/contracts';
import { kafkaOptionsFromConfig, KafkaModule } from '@deliberate/kafka';
import { OutboxHealthController, OutboxModule } from '@deliberate/outbox';
import { PersistenceModule } from '@deliberate/persistence';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AdminController } from './auth/admin.controller';
import { ApiKeyGuard } from './auth/api-key.guard';
import { MeController } from './auth/me.controller';
import { AuthRepository } from './auth/auth.repository';
import { AuthService } from './auth/auth.service';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { DocsController } from './docs/docs.controller';
import { IntakeSecretRepository } from './intake/intake-secret.repository';
import { IntakeSecretService } from './intake/intake-secret.service';
import { IntakeSecretsController } from './intake/intake-secrets.controller';
import { CreateIntakeSecrets1764700000000 } from './migrations/1764700000000-create-intake-secrets';
import {
  AuditProxyController,
  LedgerProxyController,
  ShadowProxyController,
  WebhooksProxyController,
} from './proxy/service-proxy.controllers';
import { MetricsController, ProblemFilter } from '@deliberate/http';
import { CreateGatewayTables1764144000000 } from './migrations/1764144000000-create-gateway-tables';
import { AddReviewQueue1764150000000 } from './migrations/1764150000000-add-review-queue';
import { AddTenantQuotas1764600000000 } from './migrations/1764600000000-add-tenant-quotas';
import { CreateGatewayOutbox1764800000000 } from './migrations/1764800000000-create-gateway-outbox';
import { CreateTenantPolicies1796600000000 } from './migrations/1796600000000-create-tenant-policies';
import { AdminPolicyController, PolicyController } from './policy/policy.controller';
import { PolicyRepository } from './policy/policy.repository';
import { PolicyService } from './policy/policy.service';
import { QuotaRepository } from './quotas/quota.repository';
import { QuotaService } from './quotas/quota.service';
import { RequestAuthenticator } from './auth/request-authenticator';
import { ReviewRepository } from './reviews/review.repository';
import { ReviewService } from './reviews/review.service';
import { ReviewsController } from './reviews/reviews.controller';
import { TaskAdmissionService } from './tasks/task-admission.service';
import { TaskIntakeConsumer } from './tasks/task-intake.consumer';
import { TaskMetrics } from './tasks/task-metrics';
import { TaskProjectionConsumer } from './tasks/task-projection.consumer';
import { TaskRepository } from './tasks/task.repository';
import { TasksController } from './tasks/tasks.controller';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        MetricsModule.forService('gateway'),
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          schema: 'gateway',
          entities: [],
          migrations: [
            CreateGatewayTables1764144000000,
            AddReviewQueue1764150000000,
            AddTenantQuotas1764600000000,
            CreateIntakeSecrets1764700000000,
            CreateGatewayOutbox1764800000000,
            CreateTenantPolicies1796600000000,
          ],
          poolSize: config.DATABASE_POOL_SIZE,
          preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
        }),
        KafkaModule.forRoot({
          ...kafkaOptionsFromConfig('gateway', config),
          topics: [
            taskSubmittedEvent,
            taskAcceptedEvent,
            taskTriagedEvent,
            taskCompletedEvent,
            taskFailedEvent,
            taskReasoningStartedEvent,
            taskEscalatedEvent,
            taskCancelRequestedEvent,
            taskCancelledEvent,
            tenantPolicyUpdatedEvent,
          ],
        }),
        OutboxModule.forRoot({
          events: [taskAcceptedEvent, tenantPolicyUpdatedEvent],
          staleAfterMs: config.GATEWAY_OUTBOX_INTERVAL_MS,
          sweepIntervalMs: config.GATEWAY_OUTBOX_INTERVAL_MS,
          sweepBatch: 500,
          // Marks many submissions per UPDATE, so publishing through the outbox costs the client no round trip.
          batchPublishedMarksMs: 5,
        }),
      ],
      controllers: [
        MetricsController,
        TasksController,
        MeController,
        ReviewsController,
        AdminController,
        IntakeSecretsController,
        PolicyController,
        AdminPolicyController,
        LedgerProxyController,
        ShadowProxyController,
        WebhooksProxyController,
        AuditProxyController,
        DocsController,
        OutboxHealthController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        AuthRepository,
        AuthService,
        QuotaRepository,
        QuotaService,
        RequestAuthenticator,
        TaskRepository,
        TaskMetrics,
        TaskAdmissionService,
        ReviewRepository,
        ReviewService,
        TaskIntakeConsumer,
        IntakeSecretRepository,
        IntakeSecretService,
        TaskProjectionConsumer,
        PolicyRepository,
        PolicyService,
      ],
    };
  }
}

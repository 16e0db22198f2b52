import { MetricsModule } from '@deliberate/metrics';
import {
  taskAcceptedEvent,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  webhookDeliveryAttemptedEvent,
  webhookEndpointDisabledEvent,
  webhookMessageDeadLetteredEvent,
} from '@deliberate/contracts';
import {
  INTERNAL_AUTH_OPTIONS,
  InternalAuthGuard,
  type InternalAuthOptions,
  MetricsController,
  ProblemFilter,
} from '@deliberate/http';
import { kafkaOptionsFromConfig, KafkaModule } from '@deliberate/kafka';
import { OutboxHealthController, OutboxModule } from '@deliberate/outbox';
import { PersistenceModule } from '@deliberate/persistence';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { allowlistOf, secretCipherOf, WEBHOOKS_CONFIG, type WebhooksConfig } from './config';
import { WebhooksMetrics } from './dispatch/webhooks-metrics';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { DeliveriesRepository } from './deliveries/deliveries.repository';
import { DeliveriesService } from './deliveries/deliveries.service';
import { DeliveryStore } from './dispatch/delivery-store';
import { DeliveryRepository } from './dispatch/delivery.repository';
import { Dispatcher } from './dispatch/dispatcher';
import { EndpointRepository } from './endpoints/endpoint.repository';
import { EndpointsController } from './endpoints/endpoints.controller';
import { EndpointsService } from './endpoints/endpoints.service';
import { TaskSecretController } from './endpoints/task-secret.controller';
import { TaskSecretRepository } from './endpoints/task-secret.repository';
import { MessageIntake } from './messages/message-intake';
import { MessageRepository } from './messages/message.repository';
import { CreateWebhooksTables1795900000000 } from './migrations/1795900000000-create-webhooks-tables';
import { encryptWebhookSecrets } from './migrations/1796000000000-encrypt-webhook-secrets';
import { SetAsideDeadOutboxRows1796100000000 } from './migrations/1796100000000-set-aside-dead-outbox-rows';
import { TraceWebhookDeliveries1796700000000 } from './migrations/1796700000000-trace-webhook-deliveries';
import { SecretsAtRestModule } from './signing/secrets-at-rest';
import { AddressPolicy } from './ssrf/address-policy';
import { type Resolver, SsrfGuard, systemResolver } from './ssrf/ssrf-guard';
import { TaskEventConsumer } from './tasks/task-event.consumer';

export interface WebhooksModuleOptions {
  /** How host names resolve; tests substitute a resolver to play DNS rebinding. */
  resolver?: Resolver;
}

@Module({})
export class WebhooksModule {
  static forRoot(config: WebhooksConfig, options: WebhooksModuleOptions = {}): DynamicModule {
    const secretCipher = secretCipherOf(config);
    return {
      module: WebhooksModule,
      imports: [
        MetricsModule.forService('webhooks'),
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          schema: 'webhooks',
          entities: [],
          migrations: [
            CreateWebhooksTables1795900000000,
            encryptWebhookSecrets(secretCipher),
            SetAsideDeadOutboxRows1796100000000,
            TraceWebhookDeliveries1796700000000,
          ],
          poolSize: config.DATABASE_POOL_SIZE,
          preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
        }),
        SecretsAtRestModule.forRoot(secretCipher),
        KafkaModule.forRoot({
          ...kafkaOptionsFromConfig('webhooks', config),
          topics: [
            taskAcceptedEvent,
            taskCompletedEvent,
            taskFailedEvent,
            taskEscalatedEvent,
            taskCancelledEvent,
            webhookDeliveryAttemptedEvent,
            webhookMessageDeadLetteredEvent,
            webhookEndpointDisabledEvent,
          ],
        }),
        OutboxModule.forRoot({
          events: [
            webhookDeliveryAttemptedEvent,
            webhookMessageDeadLetteredEvent,
            webhookEndpointDisabledEvent,
          ],
          sweepIntervalMs: 1_000,
        }),
      ],
      controllers: [
        MetricsController,
        EndpointsController,
        TaskSecretController,
        DeliveriesController,
        OutboxHealthController,
      ],
      providers: [
        { provide: WEBHOOKS_CONFIG, useValue: config },
        {
          provide: INTERNAL_AUTH_OPTIONS,
          useValue: {
            service: 'webhooks',
            key: config.WEBHOOKS_INTERNAL_TOKEN,
            keyVariable: 'WEBHOOKS_INTERNAL_TOKEN',
          } satisfies InternalAuthOptions,
        },
        { provide: APP_GUARD, useClass: InternalAuthGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        {
          provide: SsrfGuard,
          useValue: new SsrfGuard(
            new AddressPolicy(allowlistOf(config.WEBHOOKS_ALLOWED_NETWORKS)),
            options.resolver ?? systemResolver,
          ),
        },
        DeliveryRepository,
        DeliveryStore,
        Dispatcher,
        MessageRepository,
        MessageIntake,
        TaskEventConsumer,
        EndpointRepository,
        EndpointsService,
        TaskSecretRepository,
        DeliveriesRepository,
        DeliveriesService,
        WebhooksMetrics,
      ],
    };
  }
}

import type { EventDefinition } from '@deliberate/contracts';
import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { ServiceMetrics } from '@deliberate/metrics';
import { ConsumerMetrics } from './consumer-metrics';
import { EventConsumer, type EventConsumerOptions } from './event-consumer';
import { EventPublisher } from './event-publisher';
import { KafkaClient } from './kafka-client';
import { KAFKA_OPTIONS, type KafkaOptions } from './kafka.options';
import { provisionTopics } from './topic-provisioner';

export interface KafkaModuleOptions extends KafkaOptions {
  /** Topics this service reads or writes: created (with their dead-letter topics) at start-up. */
  topics: readonly EventDefinition[];
}

// Owns the process's Kafka lifecycle: topics before anything publishes, the producer connected before
// consumers start, consumers stopped before the producer so their dead letters and results still go out.
@Injectable()
export class KafkaLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly consumers: EventConsumer[] = [];
  private readonly consumerMetrics: ConsumerMetrics | undefined;

  constructor(
    @Inject(KAFKA_OPTIONS) private readonly options: KafkaModuleOptions,
    readonly client: KafkaClient,
    readonly publisher: EventPublisher,
    // A service without a metrics module (a test's bare module) consumes unmeasured.
    @Optional() metrics?: ServiceMetrics,
  ) {
    this.consumerMetrics = metrics && new ConsumerMetrics(metrics.meter('deliberate.kafka'));
  }

  async onModuleInit(): Promise<void> {
    await provisionTopics(this.client, this.options.topics);
    await this.publisher.connect();
  }

  /** Starts a consumer; resolves once it has joined its group. Call from onApplicationBootstrap. */
  async startConsumer(options: EventConsumerOptions): Promise<EventConsumer> {
    const consumer = new EventConsumer(this.client, this.publisher, options, this.consumerMetrics);
    this.consumers.push(consumer);
    await consumer.start();
    return consumer;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
    await this.publisher.disconnect();
  }
}

@Global()
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    return {
      module: KafkaModule,
      providers: [
        { provide: KAFKA_OPTIONS, useValue: options },
        { provide: KafkaClient, useFactory: () => new KafkaClient(options) },
        {
          provide: EventPublisher,
          useFactory: (client: KafkaClient) => new EventPublisher(client),
          inject: [KafkaClient],
        },
        KafkaLifecycle,
      ],
      exports: [KafkaClient, EventPublisher, KafkaLifecycle],
    };
  }
}

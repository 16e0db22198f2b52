import { type DynamicModule, Module } from '@nestjs/common';
import { Outbox } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { OUTBOX_OPTIONS, type OutboxOptions } from './outbox.options';
import { OutboxRepository } from './outbox.repository';

// A service's transactional outbox, over its PersistenceModule Sql port and its KafkaModule publisher (both global).
@Module({})
export class OutboxModule {
  static forRoot(options: OutboxOptions): DynamicModule {
    return {
      module: OutboxModule,
      global: true,
      providers: [{ provide: OUTBOX_OPTIONS, useValue: options }, OutboxRepository, Outbox, OutboxRelay],
      exports: [Outbox, OutboxRelay],
    };
  }
}

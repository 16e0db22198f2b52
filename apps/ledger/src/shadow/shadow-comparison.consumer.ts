import { shadowComparisonRecordedEvent } from '@deliberate/contracts';
import { handle, KafkaLifecycle, PermanentError } from '@deliberate/kafka';
import { Sql } from '@deliberate/persistence';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ShadowComparisonRepository } from './shadow-comparison.repository';

// Keeps every comparison of shadow evaluation, once per shadow run, for the shadow report (which prices both sides
// from the bookings here). An event without its task is dead-lettered with the reason; an unreachable database is
// waited for by the shared consumer.
@Injectable()
export class ShadowComparisonConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly sql: Sql,
    private readonly comparisons: ShadowComparisonRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'ledger.shadow',
      handlers: [
        handle(shadowComparisonRecordedEvent, async (e) => {
          if (!e.taskId)
            throw new PermanentError('a shadow comparison names no task (the deliberatetaskid header)');
          await this.comparisons.insert(this.sql, {
            eventId: e.id,
            tenantId: e.tenantId,
            taskId: e.taskId,
            data: e.data,
          });
        }),
      ],
    });
  }
}

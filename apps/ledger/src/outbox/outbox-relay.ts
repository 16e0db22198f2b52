import {
  budgetBreakerClosedEvent,
  budgetBreakerOpenedEvent,
  budgetThresholdCrossedEvent,
  type EventDefinition,
} from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { Injectable, Logger } from '@nestjs/common';
import { Sql } from '@deliberate/persistence';
import { type OutboxMessage, OutboxRepository } from './outbox.repository';

const PUBLISHED_EVENTS: readonly EventDefinition[] = [
  budgetThresholdCrossedEvent,
  budgetBreakerOpenedEvent,
  budgetBreakerClosedEvent,
];

// Messages left unpublished this long are taken over by the sweeper (a crash or a broker outage after the commit).
const STALE_AFTER_MS = 3_000;

// Publishes the events written to the outbox in the transaction that decided them: at once after the commit, and
// again from the sweeper if that failed. A republish keeps the event id, so consumers can tell it is the same event.
@Injectable()
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);

  constructor(
    private readonly sql: Sql,
    private readonly outbox: OutboxRepository,
    private readonly publisher: EventPublisher,
  ) {}

  /** After the commit: never throws, the sweeper retries what failed. */
  async publish(messages: readonly OutboxMessage[]): Promise<void> {
    if (!messages.length) return;
    try {
      await Promise.all(messages.map((m) => this.send(m)));
      await this.outbox.markPublished(
        this.sql,
        messages.map((m) => m.id),
      );
    } catch (e) {
      this.logger.warn({ msg: 'outbox publish failed; the sweeper will retry', error: (e as Error).message });
    }
  }

  async relayStale(limit: number): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const stale = await this.outbox.claimStale(tx, STALE_AFTER_MS, limit);
      for (const message of stale) await this.send(message);
      await this.outbox.markPublished(
        tx,
        stale.map((m) => m.id),
      );
      return stale.length;
    });
  }

  private async send(message: OutboxMessage): Promise<void> {
    const definition = PUBLISHED_EVENTS.find((d) => d.topic === message.topic);
    if (!definition) throw new Error(`outbox message ${message.id} has an unknown topic ${message.topic}`);
    await this.publisher.publish(definition, {
      id: message.id,
      tenantId: message.tenantId,
      data: message.payload,
    });
  }
}

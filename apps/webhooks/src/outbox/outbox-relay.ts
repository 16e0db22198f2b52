import {
  type EventDefinition,
  webhookDeliveryAttemptedEvent,
  webhookEndpointDisabledEvent,
  webhookMessageDeadLetteredEvent,
} from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ServiceDatabase } from '@deliberate/persistence';
import { type OutboxMessage, OutboxRepository } from './outbox.repository';

const PUBLISHED_EVENTS: readonly EventDefinition[] = [
  webhookDeliveryAttemptedEvent,
  webhookMessageDeadLetteredEvent,
  webhookEndpointDisabledEvent,
];

// Messages left unpublished this long are taken over by the sweep (a crash or a broker outage after the commit).
const STALE_AFTER_MS = 3_000;
const SWEEP_INTERVAL_MS = 1_000;
const SWEEP_BATCH = 1_000;

// Publishes the events written to the outbox in the transaction that recorded what they announce: at once after
// the commit, and again from the sweep if that failed. A republish keeps the event id.
@Injectable()
export class OutboxRelay implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: ServiceDatabase,
    private readonly outbox: OutboxRepository,
    private readonly publisher: EventPublisher,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.sweeping = this.relayStale(SWEEP_BATCH).catch((e: unknown) =>
        this.logger.warn({ msg: 'outbox sweep failed', error: (e as Error).message }),
      );
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
  }

  /** After the commit: never throws, the sweep retries what failed. */
  async publish(messages: readonly OutboxMessage[]): Promise<void> {
    if (!messages.length) return;
    try {
      await Promise.all(messages.map((m) => this.send(m)));
      await this.outbox.markPublished(
        this.database.pool,
        messages.map((m) => m.id),
      );
    } catch (e) {
      this.logger.warn({ msg: 'outbox publish failed; the sweep will retry', error: (e as Error).message });
    }
  }

  async relayStale(limit: number): Promise<number> {
    return this.database.transaction(async (tx) => {
      const stale = await this.outbox.claimStale(tx, STALE_AFTER_MS, limit);
      await Promise.all(stale.map((m) => this.send(m)));
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
      taskId: message.taskId,
      data: message.payload,
    });
  }
}

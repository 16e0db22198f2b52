import type { EventDefinition } from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { OutboxAddress, OutboxDraft, OutboxMessage, OutboxSql as Sql } from './outbox-message';
import { checkOutboxPayload, OutboxPayloadError } from './outbox-payload';
import { OUTBOX_OPTIONS, type OutboxOptions } from './outbox.options';
import { OutboxRepository } from './outbox.repository';

// Writes events in the caller's transaction, so they exist exactly when what they announce does. Each event is
// checked when written: one that could never be published throws here, and the caller's transaction rolls back.
@Injectable()
export class Outbox {
  private readonly topics: ReadonlySet<string>;

  constructor(
    private readonly repository: OutboxRepository,
    private readonly publisher: EventPublisher,
    @Inject(OUTBOX_OPTIONS) options: OutboxOptions,
  ) {
    this.topics = new Set(options.events.map((e) => e.topic));
  }

  async add<D extends EventDefinition>(
    tx: Sql,
    event: D,
    data: z.input<D['schema']>,
    address: OutboxAddress,
  ): Promise<OutboxMessage> {
    const [message] = await this.addMany(tx, [{ event, data, ...address }]);
    return message!;
  }

  /**
   * For a compacted topic whose events each carry the whole state of their key (a tenant's policy): the tenant's
   * earlier events still pending are not sent any more, as the one the caller adds next replaces them. Sent late,
   * after the newer one, an older event would be the record compaction keeps.
   */
  async supersede(tx: Sql, event: EventDefinition, tenantId: string): Promise<void> {
    await this.repository.supersede(tx, event.topic, tenantId);
  }

  async addMany(tx: Sql, drafts: readonly OutboxDraft[]): Promise<OutboxMessage[]> {
    for (const draft of drafts) {
      if (!this.topics.has(draft.event.topic)) {
        throw new OutboxPayloadError(draft.event.topic, 'not among the events this service publishes');
      }
      checkOutboxPayload(draft.event, draft.data, draft, this.publisher.maxMessageBytes);
    }
    return this.repository.insert(
      tx,
      drafts.map((d) => ({
        topic: d.event.topic,
        tenantId: d.tenantId,
        taskId: d.taskId ?? null,
        payload: d.data,
      })),
    );
  }
}

import { defineEvent } from '@deliberate/contracts';
import type { EventPublisher } from '@deliberate/kafka';
import { z } from 'zod';
import { Outbox } from './outbox';
import type { OutboxMessage, OutboxSql } from './outbox-message';
import { OutboxPayloadError } from './outbox-payload';
import type { OutboxRepository } from './outbox.repository';

const noteEvent = defineEvent({
  topic: 'test.note.written.v1',
  summary: 'A note.',
  schema: z.strictObject({ text: z.string() }),
  partitions: 1,
  key: 'taskId',
  producers: ['test'],
  consumers: [],
});
const otherEvent = defineEvent({ ...noteEvent, topic: 'test.other.written.v1' });

class FakeRepository {
  inserted: Omit<OutboxMessage, 'id'>[] = [];
  insert(_tx: OutboxSql, messages: readonly Omit<OutboxMessage, 'id'>[]): Promise<OutboxMessage[]> {
    this.inserted.push(...messages);
    return Promise.resolve(messages.map((m, i) => ({ ...m, id: String(i) })));
  }
}

const tx: OutboxSql = { query: () => Promise.resolve([]) };

function outboxOver(repository: FakeRepository): Outbox {
  const publisher = { maxMessageBytes: 10_000 } as EventPublisher;
  return new Outbox(repository as unknown as OutboxRepository, publisher, { events: [noteEvent] });
}

describe('Outbox', () => {
  it('writes a valid event with its tenant and task', async () => {
    const repository = new FakeRepository();
    await outboxOver(repository).add(tx, noteEvent, { text: 'hi' }, { tenantId: 'acme', taskId: 't-1' });
    expect(repository.inserted).toEqual([
      { topic: 'test.note.written.v1', tenantId: 'acme', taskId: 't-1', payload: { text: 'hi' } },
    ]);
  });

  it('writes nothing of a batch with one invalid event, and says which', async () => {
    const repository = new FakeRepository();
    const write = outboxOver(repository).addMany(tx, [
      { event: noteEvent, data: { text: 'fine' }, tenantId: 'acme' },
      { event: noteEvent, data: { text: 7 }, tenantId: 'acme' },
    ]);
    await expect(write).rejects.toThrow(
      new OutboxPayloadError('test.note.written.v1', 'text: Invalid input: expected string, received number'),
    );
    expect(repository.inserted).toEqual([]);
  });

  it('refuses an event this service does not publish', async () => {
    const repository = new FakeRepository();
    await expect(
      outboxOver(repository).add(tx, otherEvent, { text: 'hi' }, { tenantId: 'acme' }),
    ).rejects.toThrow('outbox refuses test.other.written.v1: not among the events this service publishes');
  });
});

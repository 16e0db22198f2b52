import { defineEvent } from '@deliberate/contracts';
import { type EventPublisher, PermanentError } from '@deliberate/kafka';
import type { Sql as SqlPort } from '@deliberate/persistence';
import { z } from 'zod';
import type { OutboxMessage, OutboxSql as Sql } from './outbox-message';
import { OutboxRelay } from './outbox-relay';
import type { OutboxRepository } from './outbox.repository';

const noteEvent = defineEvent({
  topic: 'test.note.written.v1',
  summary: 'A note.',
  schema: z.strictObject({ text: z.string() }),
  partitions: 1,
  key: 'tenantId',
  producers: ['test'],
  consumers: [],
});

const row = (id: string, payload: unknown, topic = noteEvent.topic): OutboxMessage => ({
  id,
  topic,
  tenantId: 'acme',
  taskId: null,
  payload,
});

// The table as the relay sees it: pending rows in order, and what became of each.
class FakeOutbox {
  published: string[] = [];
  dead: { id: string; reason: string }[] = [];
  constructor(public pending: OutboxMessage[]) {}
  claimStale(_tx: Sql, _olderThanMs: number, limit: number): Promise<OutboxMessage[]> {
    const done = new Set([...this.published, ...this.dead.map((d) => d.id)]);
    return Promise.resolve(this.pending.filter((m) => !done.has(m.id)).slice(0, limit));
  }
  markPublished(_sql: Sql, ids: readonly string[]): Promise<void> {
    this.published.push(...ids);
    return Promise.resolve();
  }
  markDead(_sql: Sql, rows: readonly { id: string; reason: string }[]): Promise<void> {
    this.dead.push(...rows);
    return Promise.resolve();
  }
  countDead(): Promise<number> {
    return Promise.resolve(this.dead.length);
  }
}

// Refuses what the real publisher refuses for good (an invalid event) and fails while the broker is "down".
class FakePublisher {
  brokerDown = false;
  sent: string[] = [];
  publish(definition: typeof noteEvent, input: { id: string; data: unknown }): Promise<void> {
    if (!definition.schema.safeParse(input.data).success) {
      return Promise.reject(new PermanentError(`refusing to publish an invalid ${definition.topic}`));
    }
    if (this.brokerDown) return Promise.reject(new Error('Connection timeout'));
    this.sent.push(input.id);
    return Promise.resolve();
  }
}

function relayOver(outbox: FakeOutbox, publisher: FakePublisher): OutboxRelay {
  const pool: Sql = { query: () => Promise.resolve([]) };
  const sql = { ...pool, transaction: <T>(work: (tx: Sql) => Promise<T>) => work(pool) };
  return new OutboxRelay(
    sql as unknown as SqlPort,
    outbox as unknown as OutboxRepository,
    publisher as unknown as EventPublisher,
    { events: [noteEvent] },
  );
}

describe('OutboxRelay', () => {
  it('sets an unpublishable row aside with its reason and publishes the row behind it in the same sweep', async () => {
    const outbox = new FakeOutbox([row('1', { text: 42 }), row('2', { text: 'fine' })]);
    const publisher = new FakePublisher();
    const relay = relayOver(outbox, publisher);

    expect(await relay.relayStale(10)).toBe(1);

    expect(publisher.sent).toEqual(['2']);
    expect(outbox.published).toEqual(['2']);
    expect(outbox.dead).toEqual([{ id: '1', reason: 'refusing to publish an invalid test.note.written.v1' }]);
    expect(await relay.deadCount()).toBe(1);
    // The dead row is not claimed again.
    expect(await relay.relayStale(10)).toBe(0);
  });

  it("hands the rows it sets aside to the service's handler, with their reasons", async () => {
    const outbox = new FakeOutbox([row('1', { text: 42 }), row('2', { text: 'fine' })]);
    const relay = relayOver(outbox, new FakePublisher());
    const handled: { id: string; reason: string }[] = [];
    relay.onDead((_sql, dead) => {
      handled.push(...dead.map((d) => ({ id: d.message.id, reason: d.reason })));
      return Promise.resolve();
    });

    await relay.publish([row('1', { text: 42 }), row('2', { text: 'fine' })]);

    expect(handled).toEqual([{ id: '1', reason: 'refusing to publish an invalid test.note.written.v1' }]);
    expect(outbox.dead).toEqual(handled);
  });

  it('sets aside a row of a topic the service does not publish', async () => {
    const outbox = new FakeOutbox([row('1', { text: 'x' }, 'old.topic.v1'), row('2', { text: 'y' })]);
    const relay = relayOver(outbox, new FakePublisher());

    await relay.relayStale(10);

    expect(outbox.dead).toEqual([
      { id: '1', reason: 'no event of this service is published on old.topic.v1' },
    ]);
    expect(outbox.published).toEqual(['2']);
  });

  it('keeps rows pending through a broker outage and publishes them once it is over', async () => {
    const outbox = new FakeOutbox([row('1', { text: 'a' }), row('2', { text: 'b' })]);
    const publisher = new FakePublisher();
    const relay = relayOver(outbox, publisher);

    publisher.brokerDown = true;
    expect(await relay.relayStale(10)).toBe(0);
    expect(outbox.dead).toEqual([]);

    publisher.brokerDown = false;
    expect(await relay.relayStale(10)).toBe(2);
    expect(outbox.published).toEqual(['1', '2']);
  });

  it('publishes after the commit without throwing, leaving what failed to the sweep', async () => {
    const outbox = new FakeOutbox([]);
    const publisher = new FakePublisher();
    publisher.brokerDown = true;
    const relay = relayOver(outbox, publisher);

    await expect(relay.publish([row('1', { text: 'a' })])).resolves.toBeUndefined();
    expect(outbox.published).toEqual([]);
  });

  it("leaves to the commit's own publish a row it is still sending, so the event goes out once", async () => {
    const outbox = new FakeOutbox([row('1', { text: 'slow' })]);
    const publisher = new FakePublisher();
    // The first send hangs (a slow broker) until the test lets it through.
    let letThrough!: () => void;
    const original = publisher.publish.bind(publisher);
    publisher.publish = (definition, input) =>
      publisher.sent.length === 0 && !letThrough
        ? new Promise<void>((resolve) => {
            letThrough = () => resolve(original(definition, input));
          })
        : original(definition, input);
    const relay = relayOver(outbox, publisher);

    const afterCommit = relay.publish([row('1', { text: 'slow' })]);
    await new Promise((r) => setImmediate(r));
    // The row is older than staleAfterMs by now: the sweep claims it, and must not send it again.
    expect(await relay.relayStale(10)).toBe(0);
    letThrough();
    await afterCommit;

    expect(publisher.sent).toEqual(['1']);
    expect(outbox.published).toEqual(['1']);
    expect(await relay.relayStale(10)).toBe(0);
    expect(publisher.sent).toEqual(['1']);
  });
});

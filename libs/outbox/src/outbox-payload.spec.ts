import { defineEvent } from '@deliberate/contracts';
import { z } from 'zod';
import { checkOutboxPayload, OutboxPayloadError } from './outbox-payload';

const noteEvent = defineEvent({
  topic: 'test.note.written.v1',
  summary: 'A note.',
  schema: z.strictObject({ text: z.string(), count: z.number().int() }),
  partitions: 1,
  key: 'tenantId',
  producers: ['test'],
  consumers: [],
});
const cuttableEvent = defineEvent({ ...noteEvent, cuttableTexts: ['text'] });
const address = { tenantId: 'acme' };

describe('checkOutboxPayload', () => {
  it('accepts a valid event within the limit', () => {
    expect(() => checkOutboxPayload(noteEvent, { text: 'hi', count: 1 }, address, 10_000)).not.toThrow();
  });

  it("refuses data that does not match the event's schema, naming the field", () => {
    expect(() => checkOutboxPayload(noteEvent, { text: 'hi', count: 1.5 }, address, 10_000)).toThrow(
      new OutboxPayloadError('test.note.written.v1', 'count: Invalid input: expected int, received number'),
    );
  });

  it('refuses text no consumer could store', () => {
    expect(() => checkOutboxPayload(noteEvent, { text: 'a\u0000b', count: 1 }, address, 10_000)).toThrow(
      'outbox refuses test.note.written.v1: text: NUL is not allowed in text',
    );
  });

  it('refuses an event over the Kafka message limit, with its size', () => {
    expect(() =>
      checkOutboxPayload(noteEvent, { text: 'x'.repeat(5_000), count: 1 }, address, 4_000),
    ).toThrow(/the event is \d+ bytes, over the 4000-byte message limit \(KAFKA_MAX_MESSAGE_BYTES\)/);
  });

  it('accepts an event over the limit whose cuttable texts the publisher will cut to fit', () => {
    expect(() =>
      checkOutboxPayload(cuttableEvent, { text: 'x'.repeat(5_000), count: 1 }, address, 4_000),
    ).not.toThrow();
  });
});

import {
  EVENT_CATALOGUE,
  webhookDeliveryAttemptedEvent,
  webhookMessageDeadLetteredEvent,
} from '@deliberate/contracts';
import { z } from 'zod';
import { examplePayload } from './example-payload';

describe('examplePayload', () => {
  it('builds a payload each event of the catalogue accepts', () => {
    for (const event of EVENT_CATALOGUE) {
      const overrides =
        event === webhookDeliveryAttemptedEvent || event === webhookMessageDeadLetteredEvent
          ? { messageId: 'msg_0123456789abcdef' }
          : {};
      expect({
        topic: event.topic,
        ok: event.schema.safeParse(examplePayload(event.schema, overrides)).success,
      }).toEqual({
        topic: event.topic,
        ok: true,
      });
    }
  });

  it('names the fields it cannot satisfy instead of returning an invalid base', () => {
    const schema = z.object({
      id: z.string().regex(/^msg_[a-z]{4}$/),
      at: z.iso.datetime(),
      n: z.int().min(3),
    });
    expect(() => examplePayload(schema)).toThrow(/id: /);
    expect(examplePayload(schema, { id: 'msg_abcd' })).toEqual({
      id: 'msg_abcd',
      at: '2026-01-01T00:00:00.000Z',
      n: 3,
    });
  });
});

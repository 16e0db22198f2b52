import { defineEvent, taskCancelRequestedEvent } from '@deliberate/contracts';
import { z } from 'zod';
import type { Message, ProducerBatch } from 'kafkajs';
import { EventPublisher } from './event-publisher';
import type { KafkaClient } from './kafka-client';
import { PermanentError } from './permanent-error';

const MAX_MESSAGE_BYTES = 10_000;

// A producer that records each request instead of sending it.
function publisherWithFakeProducer(): { publisher: EventPublisher; requests: Message[][] } {
  const requests: Message[][] = [];
  const producer = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    sendBatch: (batch: ProducerBatch) => {
      requests.push((batch.topicMessages ?? []).flatMap((t) => t.messages));
      return Promise.resolve([]);
    },
  };
  const client = {
    kafka: { producer: () => producer },
    options: { serviceName: 'test', topicPrefix: '', maxMessageBytes: MAX_MESSAGE_BYTES },
    topic: (name: string) => name,
  } as unknown as KafkaClient;
  return { publisher: new EventPublisher(client), requests };
}

function cancel(reason: string | null) {
  return {
    tenantId: 'acme',
    taskId: '0190f5f0-0000-7000-8000-000000000001',
    data: { requestedBy: 'key:1', reason, requestedAt: '2026-01-01T00:00:00.000Z' },
  };
}

async function refusal(promise: Promise<unknown>): Promise<PermanentError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof PermanentError) return e;
    throw e;
  }
  throw new Error('expected a PermanentError');
}

describe('EventPublisher', () => {
  it('publishes a valid event', async () => {
    const { publisher, requests } = publisherWithFakeProducer();
    await publisher.connect();
    await publisher.publish(taskCancelRequestedEvent, cancel('changed my mind'));
    expect(requests).toHaveLength(1);
  });

  it('refuses an event with a NUL or a lone surrogate, naming the field, and sends nothing', async () => {
    const { publisher, requests } = publisherWithFakeProducer();
    await publisher.connect();
    const nul = await refusal(publisher.publish(taskCancelRequestedEvent, cancel('stop\u0000')));
    expect(nul.message).toContain('data.reason');
    expect(nul.message).toContain('NUL');
    const surrogate = await refusal(publisher.publish(taskCancelRequestedEvent, cancel('\uD800')));
    expect(surrogate.message).toContain('lone surrogate');
    expect(requests).toHaveLength(0);
  });

  it('refuses a schema-invalid event as a permanent error', async () => {
    const { publisher } = publisherWithFakeProducer();
    await publisher.connect();
    const error = await refusal(publisher.publish(taskCancelRequestedEvent, cancel('x'.repeat(1_001))));
    expect(error.message).toContain('reason');
  });

  it('refuses an event larger than the message limit, with its size and the limit', async () => {
    const { publisher, requests } = publisherWithFakeProducer();
    await publisher.connect();
    // The schema caps each field of this event; an oversized id is what grows it past a small limit.
    const error = await refusal(
      publisher.publish(taskCancelRequestedEvent, { ...cancel(null), id: 'i'.repeat(MAX_MESSAGE_BYTES) }),
    );
    expect(error.message).toMatch(/\d+ bytes/);
    expect(error.message).toContain(`${MAX_MESSAGE_BYTES}`);
    expect(requests).toHaveLength(0);
  });

  it('splits the events of one tick into requests that each stay within the message limit', async () => {
    const { publisher, requests } = publisherWithFakeProducer();
    await publisher.connect();
    const id = (n: number) => `${n}-${'i'.repeat(MAX_MESSAGE_BYTES * 0.4)}`;
    await Promise.all(
      [1, 2, 3].map((n) => publisher.publish(taskCancelRequestedEvent, { ...cancel(null), id: id(n) })),
    );
    expect(requests.flat()).toHaveLength(3);
    expect(requests.length).toBeGreaterThan(1);
    for (const request of requests) {
      const bytes = request.reduce(
        (sum, m) => sum + JSON.stringify(m.headers).length + String(m.value).length,
        0,
      );
      expect(bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    }
  });

  it('cuts the long texts an event declares cuttable to fit the limit, with a visible marker', async () => {
    const { publisher, requests } = publisherWithFakeProducer();
    await publisher.connect();
    const traced = defineEvent({
      topic: 'test.trace.recorded.v1',
      summary: 'test',
      schema: z.strictObject({ model: z.string(), trace: z.string(), answer: z.string() }),
      partitions: 1,
      key: 'tenantId',
      producers: [],
      consumers: [],
      cuttableTexts: ['trace', 'answer'],
    });
    await publisher.publish(traced, {
      tenantId: 'acme',
      data: { model: 'm', trace: 't'.repeat(MAX_MESSAGE_BYTES * 2), answer: 'the answer' },
    });
    const [sent] = requests.flat();
    const value = JSON.parse(String(sent!.value)) as { trace: string; answer: string };
    expect(value.trace).toMatch(new RegExp(`\\[cut: ${MAX_MESSAGE_BYTES * 2} chars in all\\]$`));
    expect(value.answer).toBe('the answer');
    expect(String(sent!.value).length).toBeLessThan(MAX_MESSAGE_BYTES);
  });
});

import { cutToFit, type EventDefinition, findUnsafeText, uuidv7 } from '@deliberate/contracts';
import { encodeHeaders, formatZodIssues, messageBytes } from '@deliberate/kafka';
import type { OutboxAddress } from './outbox-message';

// What the relay cannot know yet when the row is written: the producing service's name in `ce_source`, a
// traceparent and tracestate. Generous on purpose: a row refused here would be refused by Kafka later.
const UNKNOWN_HEADERS_BYTES = 512;

/** An event refused when written, so the caller's transaction rolls back instead of storing a row that can never leave. */
export class OutboxPayloadError extends Error {
  constructor(
    readonly topic: string,
    problem: string,
  ) {
    super(`outbox refuses ${topic}: ${problem}`);
    this.name = 'OutboxPayloadError';
  }
}

/**
 * Checks an event as the publisher will: its schema, text that no consumer could store, and its size against the
 * Kafka message limit (after the event's cuttable texts are cut). Throws {@link OutboxPayloadError} naming the problem.
 */
export function checkOutboxPayload(
  definition: EventDefinition,
  data: unknown,
  address: OutboxAddress,
  maxMessageBytes: number,
): void {
  const parsed = definition.schema.safeParse(data);
  if (!parsed.success) throw new OutboxPayloadError(definition.topic, formatZodIssues(parsed.error));
  const unsafe = findUnsafeText(parsed.data);
  if (unsafe) {
    throw new OutboxPayloadError(
      definition.topic,
      `${unsafe.path}: ${unsafe.problem} is not allowed in text`,
    );
  }
  const headers = encodeHeaders({
    specversion: '1.0',
    id: uuidv7(),
    type: definition.topic,
    source: 'deliberate/',
    time: new Date().toISOString(),
    tenantId: address.tenantId,
    taskId: address.taskId ?? null,
    data: null,
  });
  const key = definition.key === 'taskId' ? (address.taskId ?? address.tenantId) : address.tenantId;
  const value = JSON.stringify(parsed.data);
  const around = messageBytes({ key, value: '', headers }) + UNKNOWN_HEADERS_BYTES;
  let bytes = around + Buffer.byteLength(value);
  if (bytes > maxMessageBytes && definition.cuttableTexts) {
    bytes =
      around +
      Buffer.byteLength(
        JSON.stringify(cutToFit(parsed.data, definition.cuttableTexts, maxMessageBytes - around).data),
      );
  }
  if (bytes > maxMessageBytes) {
    throw new OutboxPayloadError(
      definition.topic,
      `the event is ${bytes} bytes, over the ${maxMessageBytes}-byte message limit (KAFKA_MAX_MESSAGE_BYTES)`,
    );
  }
}

import {
  cutToFit,
  DEFAULT_KAFKA_MAX_MESSAGE_BYTES,
  type EventDefinition,
  type EventEnvelope,
  findUnsafeText,
  uuidv7,
} from '@deliberate/contracts';
import { Logger } from '@nestjs/common';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Message, Producer } from 'kafkajs';
import type { z } from 'zod';
import { encodeHeaders, formatZodIssues } from './event-codec';
import type { KafkaClient } from './kafka-client';
import { PermanentError } from './permanent-error';
import { injectTraceContext } from './trace-context';

export interface PublishInput<T> {
  tenantId: string;
  taskId?: string | null;
  data: T;
  /** Defaults to a fresh UUIDv7; pass a stable id to make a republish idempotent downstream. */
  id?: string;
}

interface Pending {
  topic: string;
  message: Message;
  bytes: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const tracer = trace.getTracer('deliberate.kafka');
const MAX_BATCH = 500;

// An idempotent producer (acks=all) that batches every publish made in the same tick into one request, so thousands
// of concurrent publishes cost a handful of round trips. Each request stays within the message limit, which the broker
// applies to a partition's whole record batch; an event that alone exceeds it is refused rather than retried forever.
export class EventPublisher {
  private readonly producer: Producer;
  private readonly logger = new Logger(EventPublisher.name);
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private connected = false;

  constructor(private readonly client: KafkaClient) {
    this.producer = client.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    if (!this.connected) return;
    await this.flushing;
    if (this.queue.length) await this.flush();
    this.connected = false;
    await this.producer.disconnect();
  }

  async publish<D extends EventDefinition>(
    definition: D,
    input: PublishInput<z.input<D['schema']>>,
  ): Promise<EventEnvelope> {
    // What we publish is checked like what we consume: a bad event is a bug here, not downstream.
    const parsed = definition.schema.safeParse(input.data);
    if (!parsed.success) {
      throw new PermanentError(
        `refusing to publish an invalid ${definition.topic}: ${formatZodIssues(parsed.error)}`,
      );
    }
    let envelope: EventEnvelope = {
      specversion: '1.0',
      id: input.id ?? uuidv7(),
      type: definition.topic,
      source: `deliberate/${this.client.options.serviceName}`,
      time: new Date().toISOString(),
      tenantId: input.tenantId,
      taskId: input.taskId ?? null,
      data: parsed.data,
    };
    // No consumer could store it (decode refuses it too): a bug or unchecked input upstream, never worth a retry.
    const unsafe = findUnsafeText(envelope);
    if (unsafe) {
      throw new PermanentError(
        `refusing to publish ${definition.topic}: ${unsafe.path}: ${unsafe.problem} is not allowed in text`,
      );
    }
    const key = definition.key === 'taskId' ? (envelope.taskId ?? envelope.tenantId) : envelope.tenantId;
    const topic = this.client.topic(definition.topic);
    const span = tracer.startSpan(`send ${definition.topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.message.id': envelope.id,
        'deliberate.tenant_id': envelope.tenantId,
        ...(envelope.taskId ? { 'deliberate.task_id': envelope.taskId } : {}),
      },
    });
    const headers = encodeHeaders(envelope);
    injectTraceContext(headers, trace.setSpan(context.active(), span));
    try {
      const message = { key, value: JSON.stringify(envelope.data), headers };
      let bytes = messageBytes(message);
      if (bytes > this.maxMessageBytes && definition.cuttableTexts) {
        const budget = this.maxMessageBytes - (bytes - Buffer.byteLength(message.value));
        const fitted = cutToFit(envelope.data, definition.cuttableTexts, budget);
        this.logger.warn({
          msg: 'event over the message limit: long texts cut',
          topic: definition.topic,
          bytes,
          limit: this.maxMessageBytes,
          textsCut: fitted.cut,
        });
        envelope = { ...envelope, data: fitted.data };
        message.value = JSON.stringify(fitted.data);
        bytes = messageBytes(message);
      }
      if (bytes > this.maxMessageBytes) {
        throw new PermanentError(
          `refusing to publish ${definition.topic}: the event is ${bytes} bytes, over the ${this.maxMessageBytes}-byte message limit (KAFKA_MAX_MESSAGE_BYTES)`,
        );
      }
      await this.enqueue(topic, message, bytes);
      span.end();
      return envelope;
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw e;
    }
  }

  /** The largest message (value, key and headers) this publisher sends. */
  get maxMessageBytes(): number {
    return this.client.options.maxMessageBytes ?? DEFAULT_KAFKA_MAX_MESSAGE_BYTES;
  }

  /** Sends raw bytes, as the dead-letter path must keep the original message untouched. */
  publishRaw(topic: string, message: Message): Promise<void> {
    return this.enqueue(topic, message, messageBytes(message));
  }

  private enqueue(topic: string, message: Message, bytes: number): Promise<void> {
    if (!this.connected) return Promise.reject(new Error('the Kafka producer is not connected'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, bytes, resolve, reject });
      if (!this.flushing) this.flushing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Let every publish of the current tick join the batch.
    await new Promise<void>((r) => setImmediate(r));
    try {
      while (this.queue.length) await this.flush();
    } finally {
      this.flushing = null;
    }
  }

  private async flush(): Promise<void> {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < MAX_BATCH) {
      bytes += this.queue[count]!.bytes;
      if (count > 0 && bytes > this.maxMessageBytes) break;
      count += 1;
    }
    const batch = this.queue.splice(0, count);
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(p.message);
      byTopic.set(p.topic, list);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      for (const p of batch) p.resolve();
    } catch (e) {
      this.logger.error({ msg: 'publish failed', error: (e as Error).message, messages: batch.length });
      for (const p of batch) p.reject(e);
    }
  }
}

/** What a message weighs against the broker's limit: value, key and headers (record framing is in the headroom). */
export function messageBytes(message: Message): number {
  let bytes = byteLength(message.value) + byteLength(message.key);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) bytes += byteLength(v);
  }
  return bytes;
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

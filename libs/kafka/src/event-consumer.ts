import { deadLetterTopic, type EventDefinition, type EventEnvelope } from '@deliberate/contracts';
import { dependencyOutage, retryWhileUnavailable } from '@deliberate/retry';
import { Logger } from '@nestjs/common';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Batch, Consumer, KafkaMessage, Message } from 'kafkajs';
import type { z } from 'zod';
import { deleteConsumerGroup } from './consumer-groups';
import type { ConsumeOutcome, ConsumerMetrics } from './consumer-metrics';
import { DecodeError, decodeEvent } from './event-codec';
import { type EventPublisher, messageBytes } from './event-publisher';
import { headersToStrings } from './headers';
import type { KafkaClient } from './kafka-client';
import { DEFAULT_HANDLER_TIMEOUT_MS, DEFAULT_SHUTDOWN_GRACE_MS } from './kafka.options';
import { isPermanentError } from './permanent-error';
import { extractTraceContext } from './trace-context';

export interface MessageMeta {
  topic: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  attempt: number;
  /** The value exactly as received, for handlers that check a signature over it. */
  value: Buffer | null;
  /** The message's Kafka timestamp in epoch ms (CreateTime, or LogAppendTime if the topic is set so). */
  timestampMs: number;
  /** Aborted when this attempt is abandoned: its time budget ran out, or shutdown passed its grace period. */
  signal?: AbortSignal;
}

export interface EventHandler<D extends EventDefinition = EventDefinition> {
  readonly event: D;
  handle(envelope: EventEnvelope<z.infer<D['schema']>>, meta: MessageMeta): Promise<void>;
}

/** Binds a handler to an event with its payload type inferred from the catalogue. */
export function handle<D extends EventDefinition>(
  event: D,
  fn: (envelope: EventEnvelope<z.infer<D['schema']>>, meta: MessageMeta) => Promise<void>,
): EventHandler<D> {
  return { event, handle: fn };
}

/** One decoded message of a batch handed to a {@link BatchEventHandler}. */
export interface DecodedEvent {
  envelope: EventEnvelope;
  meta: MessageMeta;
}

/**
 * Takes whole partition batches of several topics at once (a sink that writes many rows per transaction).
 * Malformed messages never reach it: they go to their topic's dead-letter topic, as with per-message handlers.
 */
export interface BatchEventHandler {
  readonly events: readonly EventDefinition[];
  /**
   * At most `maxBatchSize` events of one partition, in offset order; throw to have the whole slice retried.
   * `signal` aborts when the slice's time budget runs out or shutdown passed its grace period.
   */
  handleBatch(events: DecodedEvent[], signal?: AbortSignal): Promise<void>;
  readonly maxBatchSize?: number;
}

export interface EventConsumerOptions {
  /** Consumer group, without prefix: `<service>.<purpose>`. */
  group: string;
  handlers: readonly EventHandler[];
  /** Alternative to `handlers`: every message of `batchHandler.events` goes to it a batch at a time. */
  batchHandler?: BatchEventHandler;
  /** Messages with different keys handled at once within one partition batch; same key stays in order. */
  concurrency?: number;
  partitionsConsumedConcurrently?: number;
  /**
   * The group is this process's alone (one per start): it is deleted once the consumer has stopped. Its name ends in
   * a per-process suffix (`.<hex>`), which metrics leave out so that restarts add no label values.
   */
  ephemeralGroup?: boolean;
}

const tracer = trace.getTracer('deliberate.kafka');

/** An attempt that ran past `handlerTimeoutMs`: dead-lettered at once, as a retry would most likely hang again. */
export class HandlerTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`handler exceeded ${timeoutMs} ms`);
    this.name = 'HandlerTimeoutError';
  }
}

// The consumer is stopping: the message is left uncommitted, for whoever owns its partition next.
class ConsumerStoppingError extends Error {
  constructor() {
    super('the consumer is stopping');
    this.name = 'ConsumerStoppingError';
  }
}

// kafkajs sends a heartbeat only when asked from inside eachBatch, and only once its interval has passed.
const HEARTBEAT_PUMP_MS = 1_000;

// The share of an attempt's time budget a handler may spend waiting for an unreachable dependency; the rest keeps
// the attempt from running past its budget, which would dead-letter it at once.
const OUTAGE_WAIT_SHARE = 0.8;

// Wraps a kafkajs consumer so that: an offset is committed only after its handler's effect is durable;
// undecodable or schema-invalid messages go to `<topic>.dlq` with the reason and the original bytes; transient
// handler failures are retried with backoff, while errors no retry can fix, and attempts past their time budget, go to
// the dead-letter topic at once; a handler that fails only because its database or broker is unreachable is run again
// within its attempt, so an outage is waited out rather than dead-lettered; the group heartbeat goes on while
// handlers run; the trace continues from the producer.
export class EventConsumer {
  private readonly consumer: Consumer;
  private readonly logger: Logger;
  // The group as metrics name it: bounded, whatever the number of restarts.
  private readonly metricsGroup: string;
  private readonly handlers = new Map<string, EventHandler>();
  private readonly batchTopics = new Map<string, EventDefinition>();
  private joined!: Promise<void>;
  private rebalanceCount = 0;
  private running = false;
  // `stopping` ends retry backoffs at once; `abandoning` ends the wait for handlers in flight once the grace is over.
  private readonly stopping = new AbortController();
  private readonly abandoning = new AbortController();

  constructor(
    private readonly client: KafkaClient,
    private readonly publisher: EventPublisher,
    private readonly options: EventConsumerOptions,
    private readonly metrics?: ConsumerMetrics,
  ) {
    this.logger = new Logger(`EventConsumer ${options.group}`);
    this.metricsGroup = options.ephemeralGroup ? options.group.replace(/\.[0-9a-f]+$/, '') : options.group;
    this.consumer = client.kafka.consumer({
      groupId: client.groupId(options.group),
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      // A crashed consumer restarts itself (a broker outage), but not once it is stopped: a restart scheduled by a
      // crash that met stop() would otherwise reconnect after the service closed, and crash and restart again for
      // as long as the process lives.
      retry: { restartOnFailure: () => Promise.resolve(this.running) },
    });
    for (const h of options.handlers) this.handlers.set(client.topic(h.event.topic), h);
    for (const e of options.batchHandler?.events ?? []) this.batchTopics.set(client.topic(e.topic), e);
  }

  private get topics(): string[] {
    return [...this.handlers.keys(), ...this.batchTopics.keys()];
  }

  /** Group joins since start; more than one means a rebalance happened. */
  get groupJoins(): number {
    return this.rebalanceCount;
  }

  async start(): Promise<void> {
    let onJoin!: () => void;
    this.joined = new Promise((r) => (onJoin = r));
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      // A restart that was connecting when stop() came does not see it (kafkajs stops only a consumer that has
      // joined): it joins afterwards, and is made to leave again.
      if (!this.running) {
        void this.consumer.disconnect().catch(() => undefined);
        return;
      }
      this.rebalanceCount += 1;
      this.metrics?.forgetLag(this.metricsGroup);
      onJoin();
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.logger.error({
        msg: 'consumer crashed',
        error: e.payload.error.message,
        restart: e.payload.restart,
      });
    });
    await this.consumer.connect();
    await this.subscribe();
    this.running = true;
    await this.consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    await this.joined;
  }

  // A topic created a moment ago may not be in every broker's metadata yet: kafkajs then fails the subscription
  // with UNKNOWN_TOPIC_OR_PARTITION rather than waiting, so wait here, briefly.
  private async subscribe(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
        return;
      } catch (e) {
        const retriable = (e as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION';
        if (!retriable || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * attempt)));
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    // kafkajs leaves the group only after the batch in hand returns: handlers get their grace, then are abandoned
    // (their messages stay uncommitted and are redelivered).
    const grace = setTimeout(
      () => this.abandoning.abort(),
      this.client.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    );
    try {
      await this.consumer.disconnect();
    } finally {
      clearTimeout(grace);
    }
    if (this.options.ephemeralGroup)
      await deleteConsumerGroup(this.client.kafka, this.client.groupId(this.options.group), this.logger);
  }

  pause(): void {
    this.consumer.pause(this.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    this.consumer.resume(this.topics.map((topic) => ({ topic })));
  }

  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: {
    batch: Batch;
    resolveOffset: (offset: string) => void;
    heartbeat: () => Promise<void>;
    commitOffsetsIfNecessary: () => Promise<void>;
    isRunning: () => boolean;
    isStale: () => boolean;
  }): Promise<void> {
    const topic = this.client.catalogueTopic(batch.topic);
    // The lag is the partition's backlog: while a batch is handled, its own messages count too.
    if (batch.messages.length > 0)
      this.metrics?.lag(this.metricsGroup, topic, batch.partition, Number(batch.offsetLagLow()) + 1);
    const pump = startHeartbeatPump(heartbeat, this.logger);
    try {
      await this.handlePartitionBatch(batch, resolveOffset, {
        isRunning: () => isRunning() && !pump.failed(),
        isStale,
      });
    } finally {
      pump.stop();
    }
    this.metrics?.lag(this.metricsGroup, topic, batch.partition, Math.max(0, Number(batch.offsetLag())));
    await commitOffsetsIfNecessary();
    await heartbeat();
  }

  private async handlePartitionBatch(
    batch: Batch,
    resolveOffset: (offset: string) => void,
    control: { isRunning: () => boolean; isStale: () => boolean },
  ): Promise<void> {
    const batchEvent = this.batchTopics.get(batch.topic);
    if (batchEvent && this.options.batchHandler) {
      try {
        await this.handleWholeBatch(this.options.batchHandler, batchEvent, batch, {
          resolveOffset,
          ...control,
        });
      } catch (e) {
        if (!(e instanceof ConsumerStoppingError)) throw e;
      }
      return;
    }
    const handler = this.handlers.get(batch.topic);
    if (!handler) return;
    const messages = batch.messages;
    const done = new Array<boolean>(messages.length).fill(false);
    let next = 0;
    // Offsets resolve in order: only up to the first message not yet handled.
    const markDone = (index: number) => {
      done[index] = true;
      while (next < messages.length && done[next]) next += 1;
      if (next > 0) resolveOffset(messages[next - 1]!.offset);
    };

    const chains = new Map<string, number[]>();
    messages.forEach((m, i) => {
      const key = m.key ? m.key.toString('utf8') : `offset:${m.offset}`;
      const chain = chains.get(key) ?? [];
      chain.push(i);
      chains.set(key, chain);
    });
    const queue = [...chains.values()];
    const workers = Math.max(1, Math.min(this.options.concurrency ?? 32, queue.length));
    let aborted = false;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let chain = queue.shift(); chain && !aborted; chain = queue.shift()) {
          for (const index of chain) {
            if (!control.isRunning() || control.isStale()) {
              aborted = true;
              return;
            }
            try {
              await this.handleMessage(handler, batch.topic, batch.partition, messages[index]!);
            } catch (e) {
              if (!(e instanceof ConsumerStoppingError)) throw e;
              aborted = true;
              return;
            }
            markDone(index);
          }
        }
      }),
    );
  }

  // Decodes a partition batch (dead-lettering what does not decode), then hands it over in slices; a slice's
  // offsets resolve only after the handler returned, so a crash replays it (the handler must be idempotent).
  private async handleWholeBatch(
    handler: BatchEventHandler,
    event: EventDefinition,
    batch: Batch,
    control: {
      resolveOffset: (offset: string) => void;
      isRunning: () => boolean;
      isStale: () => boolean;
    },
  ): Promise<void> {
    const sliceSize = handler.maxBatchSize ?? 2_000;
    for (let start = 0; start < batch.messages.length; start += sliceSize) {
      if (!control.isRunning() || control.isStale()) return;
      const slice = batch.messages.slice(start, start + sliceSize);
      const decoded: DecodedEvent[] = [];
      for (const message of slice) {
        try {
          decoded.push({
            envelope: decodeEvent(event, message.value, message.headers),
            meta: {
              topic: batch.topic,
              partition: batch.partition,
              offset: message.offset,
              headers: headersToStrings(message.headers),
              attempt: 1,
              value: message.value,
              timestampMs: Number(message.timestamp),
            },
          });
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          await this.deadLetter(batch.topic, batch.partition, message, e.stage, e.message, 0);
        }
      }
      if (decoded.length > 0) {
        const started = performance.now();
        const outcome = await this.handleSlice(handler, batch, slice, decoded);
        this.metrics?.processed(
          this.metricsGroup,
          this.client.catalogueTopic(batch.topic),
          decoded.length,
          (performance.now() - started) / 1000,
          outcome,
        );
      }
      control.resolveOffset(slice[slice.length - 1]!.offset);
    }
  }

  private async handleSlice(
    handler: BatchEventHandler,
    batch: Batch,
    slice: KafkaMessage[],
    decoded: DecodedEvent[],
  ): Promise<ConsumeOutcome> {
    const maxAttempts = this.client.options.handlerMaxAttempts;
    const baseMs = this.client.options.handlerRetryBaseMs ?? 200;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.withinBudget(
          (signal) => {
            for (const d of decoded) Object.assign(d.meta, { attempt, signal });
            return handler.handleBatch(decoded, signal);
          },
          { topic: batch.topic, partition: batch.partition, messages: decoded.length, attempt },
        );
        return 'handled';
      } catch (e) {
        if (e instanceof ConsumerStoppingError) throw e;
        const error = e as Error;
        if (isPermanentError(e) || e instanceof HandlerTimeoutError || attempt >= maxAttempts) {
          // Nothing is dropped: each message of the slice goes to the dead-letter topic with the reason.
          const offsets = new Set(decoded.map((d) => d.meta.offset));
          for (const message of slice.filter((m) => offsets.has(m.offset))) {
            await this.deadLetter(batch.topic, batch.partition, message, 'handler', error.message, attempt);
          }
          return 'dead_lettered';
        }
        const delayMs = Math.min(30_000, baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        this.logger.warn({
          msg: 'batch handler failed, retrying',
          topic: batch.topic,
          partition: batch.partition,
          messages: decoded.length,
          attempt,
          delayMs: Math.round(delayMs),
          error: error.message,
        });
        await this.backoff(delayMs);
      }
    }
  }

  private async handleMessage(
    handler: EventHandler,
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<void> {
    const headers = headersToStrings(message.headers);
    const parent = extractTraceContext(headers);
    const span = tracer.startSpan(
      `process ${this.client.catalogueTopic(topic)}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': topic,
          'messaging.kafka.offset': Number(message.offset),
          'messaging.destination.partition.id': String(partition),
        },
      },
      parent,
    );
    const started = performance.now();
    try {
      const outcome = await context.with(trace.setSpan(parent, span), () =>
        this.decodeAndHandle(handler, topic, partition, message, headers),
      );
      this.metrics?.processed(
        this.metricsGroup,
        this.client.catalogueTopic(topic),
        1,
        (performance.now() - started) / 1000,
        outcome,
      );
    } finally {
      span.end();
    }
  }

  private async decodeAndHandle(
    handler: EventHandler,
    topic: string,
    partition: number,
    message: KafkaMessage,
    headers: Record<string, string>,
  ): Promise<ConsumeOutcome> {
    let envelope: EventEnvelope;
    try {
      envelope = decodeEvent(handler.event, message.value, message.headers);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      await this.deadLetter(topic, partition, message, e.stage, e.message, 0);
      return 'dead_lettered';
    }
    const maxAttempts = this.client.options.handlerMaxAttempts;
    const baseMs = this.client.options.handlerRetryBaseMs ?? 200;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.withinBudget(
          (signal) =>
            handler.handle(envelope, {
              topic,
              partition,
              offset: message.offset,
              headers,
              attempt,
              value: message.value,
              timestampMs: Number(message.timestamp),
              signal,
            }),
          { topic, offset: message.offset, attempt },
        );
        return 'handled';
      } catch (e) {
        if (e instanceof ConsumerStoppingError) throw e;
        const error = e as Error;
        if (isPermanentError(e) || e instanceof HandlerTimeoutError || attempt >= maxAttempts) {
          const span = trace.getActiveSpan();
          span?.recordException(error);
          span?.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          await this.deadLetter(topic, partition, message, 'handler', error.message, attempt);
          return 'dead_lettered';
        }
        const delayMs = Math.min(30_000, baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        this.logger.warn({
          msg: 'handler failed, retrying',
          topic,
          offset: message.offset,
          attempt,
          delayMs: Math.round(delayMs),
          error: error.message,
        });
        await this.backoff(delayMs);
      }
    }
  }

  // Runs one attempt within the handler time budget. An attempt past it, or still running when shutdown's grace is
  // over, is abandoned: its signal aborts and the wait ends, though the work itself may go on in the background.
  private async withinBudget(
    work: (signal: AbortSignal) => Promise<void>,
    logContext: Record<string, unknown>,
  ): Promise<void> {
    const timeoutMs = this.client.options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    const attempt = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onAbandon: (() => void) | undefined;
    const limit = new Promise<never>((_, reject) => {
      const end = (error: Error) => {
        attempt.abort(error);
        reject(error);
      };
      timer = setTimeout(() => end(new HandlerTimeoutError(timeoutMs)), timeoutMs);
      onAbandon = () => end(new ConsumerStoppingError());
      if (this.abandoning.signal.aborted) onAbandon();
      else this.abandoning.signal.addEventListener('abort', onAbandon, { once: true });
    });
    const running = this.waitingOutOutages(
      () => work(attempt.signal),
      attempt.signal,
      Date.now() + timeoutMs * OUTAGE_WAIT_SHARE,
      logContext,
    );
    // An abandoned attempt may still fail later: that failure has nobody left to tell.
    running.catch(() => undefined);
    try {
      await Promise.race([running, limit]);
    } finally {
      clearTimeout(timer);
      if (onAbandon) this.abandoning.signal.removeEventListener('abort', onAbandon);
    }
  }

  // Runs the handler again while it fails only because a dependency is unreachable, until `giveUpAtMs`; then its last
  // error fails the attempt as any other. A consumer that is stopping no longer waits, and leaves the message
  // uncommitted for whoever owns its partition next rather than dead-lettering it for an outage.
  private async waitingOutOutages(
    run: () => Promise<void>,
    attemptSignal: AbortSignal,
    giveUpAtMs: number,
    logContext: Record<string, unknown>,
  ): Promise<void> {
    try {
      await retryWhileUnavailable(run, {
        giveUpAtMs,
        signal: AbortSignal.any([attemptSignal, this.stopping.signal]),
        onWait: (outage, delayMs) =>
          this.logger.warn({
            msg: 'handler is waiting for an unreachable dependency within its attempt',
            ...logContext,
            ...outage,
            delayMs,
          }),
      });
    } catch (e) {
      if (this.stopping.signal.aborted && dependencyOutage(e)) throw new ConsumerStoppingError();
      throw e;
    }
  }

  // Waits between attempts; a stopping consumer does not wait, it leaves the message for redelivery.
  private backoff(ms: number): Promise<void> {
    const signal = this.stopping.signal;
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new ConsumerStoppingError());
      const onStop = () => {
        clearTimeout(timer);
        reject(new ConsumerStoppingError());
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onStop);
        resolve();
      }, ms);
      signal.addEventListener('abort', onStop, { once: true });
    });
  }

  private async deadLetter(
    topic: string,
    partition: number,
    message: KafkaMessage,
    stage: string,
    reason: string,
    attempts: number,
  ): Promise<void> {
    const catalogueTopic = this.client.catalogueTopic(topic);
    const dlq = this.client.topic(deadLetterTopic(catalogueTopic));
    this.metrics?.deadLettered(this.metricsGroup, catalogueTopic, stage);
    this.logger.warn({ msg: 'dead-lettered', topic, offset: message.offset, stage, reason, dlq });
    const dlqHeaders = {
      dlq_reason: reason.slice(0, 4000),
      dlq_stage: stage,
      dlq_source_topic: topic,
      dlq_source_partition: String(partition),
      dlq_source_offset: message.offset,
      dlq_consumer_group: this.client.groupId(this.options.group),
      dlq_attempts: String(attempts),
      dlq_failed_at: new Date().toISOString(),
    };
    let deadLetter: Message = {
      key: message.key,
      value: message.value,
      headers: { ...(message.headers ?? {}), ...dlqHeaders },
    };
    // A message near the broker's limit no longer fits with the dead-letter headers, and a dead letter that cannot
    // be written would block the partition: keep its place and reason, drop its bytes (the source offset has them).
    const limit = this.publisher.maxMessageBytes;
    const bytes = messageBytes(deadLetter);
    if (bytes > limit) {
      const omitted = `${message.value?.length ?? 0} bytes, over the ${limit}-byte message limit with its headers`;
      deadLetter = {
        ...deadLetter,
        value: null,
        headers: { ...deadLetter.headers, dlq_value_omitted: omitted },
      };
      if (messageBytes(deadLetter) > limit) {
        deadLetter = { key: null, value: null, headers: { ...dlqHeaders, dlq_value_omitted: omitted } };
      }
    }
    await this.publisher.publishRaw(dlq, deadLetter);
  }
}

// Keeps the group membership alive while a batch is handled, however long a handler takes. A failed heartbeat (the
// group is rebalancing) stops the batch from taking further messages; kafkajs then rejoins.
function startHeartbeatPump(
  heartbeat: () => Promise<void>,
  logger: Logger,
): { stop: () => void; failed: () => boolean } {
  let failed = false;
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight || failed) return;
    inFlight = true;
    heartbeat()
      .catch((e: Error) => {
        failed = true;
        logger.warn({ msg: 'heartbeat failed; finishing the batch in hand', error: e.message });
      })
      .finally(() => (inFlight = false));
  }, HEARTBEAT_PUMP_MS);
  return { stop: () => clearInterval(timer), failed: () => failed };
}

import {
  EVENT_CATALOGUE,
  type EventDefinition,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
} from '@deliberate/contracts';
import type { Consumer } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { header, testKafka } from './test-kafka';

const OUTCOME_TOPICS = [taskCompletedEvent, taskFailedEvent, taskEscalatedEvent, taskCancelledEvent].map(
  (d) => d.topic,
);

/** The catalogue's events a service produces (`produced`), or produces or consumes (`all`). */
export function catalogueEventsOf(service: string, which: 'produced' | 'all' = 'all'): EventDefinition[] {
  return EVENT_CATALOGUE.filter(
    (e) => e.producers.includes(service) || (which === 'all' && e.consumers.includes(service)),
  );
}

/** An event's data as JSON.parse gives it: tests read it loosely, as every other suite does. */
export type EventJson = ReturnType<typeof JSON.parse>;

export interface RecordedEvent {
  /** The topic without the suite's prefix. */
  topic: string;
  id: string;
  tenantId: string;
  taskId: string | null;
  data: EventJson;
}

/** Reads a suite's topics from the beginning into memory, for the test to wait on. */
export class TopicRecorder {
  readonly events: RecordedEvent[] = [];
  private constructor(private readonly consumer: Consumer) {}

  static async start(prefix: string, topics: readonly string[]): Promise<TopicRecorder> {
    const consumer = testKafka().consumer({
      groupId: `recorder-${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: 100,
    });
    const recorder = new TopicRecorder(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: topics.map((t) => `${prefix}${t}`), fromBeginning: true });
    let joined!: () => void;
    const join = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        recorder.events.push({
          topic: topic.slice(prefix.length),
          id: header(message, 'ce_id') ?? '',
          tenantId: header(message, 'ce_tenantid') ?? '',
          taskId: header(message, 'ce_taskid') ?? null,
          // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- tests read event data loosely
          data: JSON.parse(message.value?.toString('utf8') ?? 'null'),
        });
        return Promise.resolve();
      },
    });
    await join;
    return recorder;
  }

  of(topic: string, taskId?: string): RecordedEvent[] {
    return this.events.filter((e) => e.topic === topic && (taskId === undefined || e.taskId === taskId));
  }

  /** The first terminal event of the task, on whichever outcome topic. */
  outcome(taskId: string): RecordedEvent | undefined {
    return this.events.find((e) => e.taskId === taskId && OUTCOME_TOPICS.includes(e.topic));
  }

  async waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until every task has a terminal event; returns them by task id. */
  async outcomes(taskIds: readonly string[], timeoutMs = 60_000): Promise<Map<string, RecordedEvent>> {
    await this.waitFor(
      () => taskIds.every((id) => this.outcome(id)),
      `terminal events of ${taskIds.length} tasks (missing ${taskIds.filter((id) => !this.outcome(id)).length})`,
      timeoutMs,
    );
    return new Map(taskIds.map((id) => [id, this.outcome(id)!]));
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

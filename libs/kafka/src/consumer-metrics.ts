import { observeGauge, SECONDS_BUCKETS } from '@deliberate/metrics';
import type { Counter, Histogram, Meter } from '@opentelemetry/api';

/** What became of a consumed message: handled, or sent to its dead-letter topic (with the stage that refused it). */
export type ConsumeOutcome = 'handled' | 'dead_lettered';

interface Lag {
  group: string;
  topic: string;
  messages: number;
}

// The consumers' instruments, shared by every consumer of a service. Labels are the consumer group and the
// catalogue topic (no prefix, no partition, no key): bounded by the catalogue, whatever the traffic.
export class ConsumerMetrics {
  private readonly duration: Histogram;
  private readonly consumed: Counter;
  private readonly deadLetters: Counter;
  // The lag each partition had after its last batch, by group, topic and partition; summed per group and topic.
  private readonly lags = new Map<string, Lag>();

  constructor(meter: Meter) {
    this.duration = meter.createHistogram('messaging.process.duration', {
      description: 'Time to handle a consumed message, or a slice of messages for a batch handler, retries included',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
    this.consumed = meter.createCounter('messaging.client.consumed.messages', {
      description: 'Messages consumed, by what became of them',
      unit: '{message}',
    });
    this.deadLetters = meter.createCounter('deliberate.kafka.dead_letters', {
      description: 'Messages sent to a dead-letter topic, by the stage that refused them',
      unit: '{message}',
    });
    observeGauge(
      meter,
      'deliberate.kafka.consumer.lag',
      {
        description: "Messages behind the partitions' high watermarks after each consumer's last batch",
        unit: '{message}',
      },
      () => {
        const sums = new Map<string, { group: string; topic: string; messages: number }>();
        for (const lag of this.lags.values()) {
          const key = `${lag.group}\u0000${lag.topic}`;
          const sum = sums.get(key) ?? { group: lag.group, topic: lag.topic, messages: 0 };
          sum.messages += lag.messages;
          sums.set(key, sum);
        }
        return [...sums.values()].map(
          (s) =>
            [
              {
                'messaging.system': 'kafka',
                'messaging.consumer.group.name': s.group,
                'messaging.destination.name': s.topic,
              },
              s.messages,
            ] as const,
        );
      },
    );
  }

  processed(group: string, topic: string, messages: number, seconds: number, outcome: ConsumeOutcome): void {
    const attributes = {
      'messaging.system': 'kafka',
      'messaging.consumer.group.name': group,
      'messaging.destination.name': topic,
    };
    this.duration.record(seconds, attributes);
    this.consumed.add(messages, { ...attributes, outcome });
  }

  deadLettered(group: string, topic: string, stage: string): void {
    this.deadLetters.add(1, {
      'messaging.system': 'kafka',
      'messaging.consumer.group.name': group,
      'messaging.destination.name': topic,
      stage,
    });
  }

  lag(group: string, topic: string, partition: number, messages: number): void {
    this.lags.set(`${group}\u0000${topic}\u0000${partition}`, { group, topic, messages });
  }

  /** A group rebalanced: its partitions may now be another replica's, whose lag that replica reports. */
  forgetLag(group: string): void {
    for (const [key, lag] of this.lags) if (lag.group === group) this.lags.delete(key);
  }
}

import type { z } from 'zod';

// One event, one topic. The topic name doubles as the CloudEvents `type`, so the two can never disagree.
export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  /** `<domain>.<entity>.<event>.v<N>`; renaming one needs a migration plan for every consumer. */
  readonly topic: string;
  readonly summary: string;
  readonly schema: S;
  readonly partitions: number;
  /** What the Kafka message key is, which decides ordering. */
  readonly key: 'taskId' | 'tenantId';
  readonly producers: readonly string[];
  readonly consumers: readonly string[];
  /** Kafka headers this topic requires besides the CloudEvents ones, as documented in AsyncAPI. */
  readonly headers?: EventHeaders;
  /**
   * Texts that can grow without bound (prompts, traces, answers, context documents), as paths like
   * `prompt[].content`: cut with a visible marker when the event would exceed the Kafka message limit.
   */
  readonly cuttableTexts?: readonly string[];
  /**
   * The topic keeps the latest event per key for ever (cleanup.policy=compact) instead of expiring by age: for
   * state that readers rebuild from the beginning, such as a tenant's policy set months ago.
   */
  readonly compacted?: boolean;
}

export interface EventHeaders {
  readonly required: readonly string[];
  readonly properties: Readonly<Record<string, { type: 'string'; description: string; pattern?: string }>>;
}

export function defineEvent<S extends z.ZodType>(definition: EventDefinition<S>): EventDefinition<S> {
  return definition;
}

export type EventData<D extends EventDefinition> = z.infer<D['schema']>;

export const DEAD_LETTER_SUFFIX = '.dlq';

export function deadLetterTopic(topic: string): string {
  return `${topic}${DEAD_LETTER_SUFFIX}`;
}

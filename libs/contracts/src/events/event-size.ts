// One limit decides the largest event, and from it the largest task: Kafka refuses a message above the broker's
// `message.max.bytes`, so a task body is accepted only when its events fit with room for envelope and headers.

/** Kafka's default `message.max.bytes` is 1,048,588; this leaves headroom for record overhead and batch framing. */
export const DEFAULT_KAFKA_MAX_MESSAGE_BYTES = 1_000_000;

/**
 * Bytes an event adds around a task body: CloudEvents and trace headers, dead-letter headers (a reason of up to
 * 4,000 bytes), the normalized spec's extra fields and what triage adds (decision, context selection).
 */
export const TASK_EVENT_HEADROOM_BYTES = 64 * 1024;

/** The largest task body (HTTP or the intake topic's value) whose events still fit in one Kafka message. */
export function maxTaskBodyBytes(kafkaMaxMessageBytes: number): number {
  return Math.max(0, kafkaMaxMessageBytes - TASK_EVENT_HEADROOM_BYTES);
}

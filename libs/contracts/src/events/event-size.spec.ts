import { DEFAULT_KAFKA_MAX_MESSAGE_BYTES, maxTaskBodyBytes, TASK_EVENT_HEADROOM_BYTES } from './event-size';

describe('maxTaskBodyBytes', () => {
  it('leaves the envelope headroom below the Kafka message limit', () => {
    expect(maxTaskBodyBytes(DEFAULT_KAFKA_MAX_MESSAGE_BYTES)).toBe(1_000_000 - TASK_EVENT_HEADROOM_BYTES);
    expect(maxTaskBodyBytes(10_000_000)).toBe(10_000_000 - TASK_EVENT_HEADROOM_BYTES);
  });

  it('is never negative for a tiny limit', () => {
    expect(maxTaskBodyBytes(1_000)).toBe(0);
  });
});

import { pendingCheckDelayMs } from './request-queue-timer';

const NOW = Date.parse('2026-12-01T04:40:04Z');

describe('pendingCheckDelayMs', () => {
  it('is never negative for a queue that was never throttled (kafkajs starts throttledUntil at -1)', () => {
    expect(pendingCheckDelayMs(-1, NOW, 0)).toBe(0);
    expect(pendingCheckDelayMs(-1, NOW, 3)).toBe(10);
  });

  it('waits for the end of a throttle still in force, pending requests or not', () => {
    expect(pendingCheckDelayMs(NOW + 250, NOW, 0)).toBe(250);
    expect(pendingCheckDelayMs(NOW + 250, NOW, 5)).toBe(250);
  });

  it('checks soon once a throttle has ended with requests waiting, at once without', () => {
    expect(pendingCheckDelayMs(NOW - 5_000, NOW, 2)).toBe(10);
    expect(pendingCheckDelayMs(NOW, NOW, 0)).toBe(0);
  });
});

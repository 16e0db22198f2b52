import { jitteredBackoffMs, sleep } from './backoff';

describe('jitteredBackoffMs', () => {
  it('doubles per retry, with half of it random, up to the cap', () => {
    expect(jitteredBackoffMs(1, 1_000, 30_000, () => 0)).toBe(500);
    expect(jitteredBackoffMs(1, 1_000, 30_000, () => 1)).toBe(1_000);
    expect(jitteredBackoffMs(3, 1_000, 30_000, () => 0.5)).toBe(3_000);
    expect(jitteredBackoffMs(20, 1_000, 30_000, () => 1)).toBe(30_000);
  });

  it('doubles up to its cap, with half of it random', () => {
    expect(jitteredBackoffMs(1, 100, 1_000, () => 0)).toBe(50);
    expect(jitteredBackoffMs(3, 100, 1_000, () => 1)).toBe(400);
    expect(jitteredBackoffMs(20, 100, 1_000, () => 1)).toBe(1_000);
  });
});

describe('sleep', () => {
  it('resolves once its time has passed', async () => {
    const timers = jest.useFakeTimers();
    try {
      let done = false;
      const waiting = sleep(1_000).then(() => (done = true));
      await timers.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await timers.advanceTimersByTimeAsync(1);
      await waiting;
      expect(done).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('resolves early when its signal aborts, and at once when it was aborted already', async () => {
    const timers = jest.useFakeTimers();
    try {
      const controller = new AbortController();
      let done = false;
      const waiting = sleep(60_000, controller.signal).then(() => (done = true));
      await timers.advanceTimersByTimeAsync(10);
      expect(done).toBe(false);
      controller.abort();
      await waiting;
      expect(done).toBe(true);
      await expect(sleep(60_000, controller.signal)).resolves.toBeUndefined();
      expect(timers.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

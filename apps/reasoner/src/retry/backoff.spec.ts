import { backoffDelayMs } from './backoff';

describe('backoffDelayMs', () => {
  it('doubles per retry, with half of it random, up to the cap', () => {
    expect(backoffDelayMs(1, 1_000, 30_000, () => 0)).toBe(500);
    expect(backoffDelayMs(1, 1_000, 30_000, () => 1)).toBe(1_000);
    expect(backoffDelayMs(3, 1_000, 30_000, () => 0.5)).toBe(3_000);
    expect(backoffDelayMs(20, 1_000, 30_000, () => 1)).toBe(30_000);
  });
});

import { countdown, formatMicros, formatMs, formatTime } from './format';

describe('format', () => {
  it('writes micro-units as dollars with the digits that matter', () => {
    expect(formatMicros(12_345_678)).toBe('$12.35');
    expect(formatMicros(12_345)).toBe('$0.0123');
    expect(formatMicros(42)).toBe('$0.000042');
    expect(formatMicros(null)).toBe('—');
  });

  it('counts a claim down in minutes and seconds, then says it expired', () => {
    expect(countdown(15 * 60_000, 0)).toBe('15:00');
    expect(countdown(61_000, 500)).toBe('1:01');
    expect(countdown(1_000, 1_000)).toBe('expired');
  });

  it('writes durations and times', () => {
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(12_340)).toBe('12.3 s');
    expect(formatMs(125_000)).toBe('2 min 5 s');
    expect(formatTime('2026-12-01T10:00:00.123Z')).toBe('2026-12-01 10:00:00Z');
  });
});

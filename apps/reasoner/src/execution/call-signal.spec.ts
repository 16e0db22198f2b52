import { callSignal } from './call-signal';

describe('callSignal', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('aborts with the reason the job aborts with', () => {
    const job = new AbortController();
    const call = callSignal(job.signal, 60_000);
    job.abort('cancel');
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe('cancel');
  });

  it('starts aborted when the job is', () => {
    const job = new AbortController();
    job.abort('shutdown');
    const call = callSignal(job.signal, 60_000);
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe('shutdown');
  });

  it("aborts with 'deadline' when the time is up, and leaves the job alone", () => {
    const job = new AbortController();
    const call = callSignal(job.signal, 1_000);
    jest.advanceTimersByTime(999);
    expect(call.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(call.signal.reason).toBe('deadline');
    expect(job.signal.aborted).toBe(false);
  });

  it('keeps the first reason: a job aborted after the deadline does not change it', () => {
    const job = new AbortController();
    const call = callSignal(job.signal, 0);
    jest.advanceTimersByTime(0);
    job.abort('cancel');
    expect(call.signal.reason).toBe('deadline');
  });

  it('once disposed, neither the deadline nor the job aborts it', () => {
    const job = new AbortController();
    const call = callSignal(job.signal, 1_000);
    call.dispose();
    jest.advanceTimersByTime(10_000);
    job.abort('cancel');
    expect(call.signal.aborted).toBe(false);
  });
});

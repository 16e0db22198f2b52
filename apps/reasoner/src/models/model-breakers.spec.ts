import { ModelBreakers } from './model-breakers';

describe('ModelBreakers', () => {
  let clock = 0;
  const breakers = () => new ModelBreakers({ failureThreshold: 3, cooldownMs: 1_000, now: () => clock });
  beforeEach(() => (clock = 0));

  it('opens after N consecutive failures and refuses calls until the cool-down', () => {
    const b = breakers();
    for (let i = 0; i < 3; i += 1) {
      expect(b.tryAcquire('m')).toBe(true);
      b.record('m', 'failure');
    }
    expect(b.snapshot('m').state).toBe('open');
    expect(b.tryAcquire('m')).toBe(false);
    expect(b.tryAcquire('other')).toBe(true);
  });

  it('a success resets the count', () => {
    const b = breakers();
    b.record('m', 'failure');
    b.record('m', 'failure');
    b.record('m', 'success');
    b.record('m', 'failure');
    expect(b.snapshot('m')).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
  });

  it('lets one trial through after the cool-down and closes on its success', () => {
    const b = breakers();
    for (let i = 0; i < 3; i += 1) b.record('m', 'failure');
    clock = 1_000;
    expect(b.snapshot('m').state).toBe('half_open');
    expect(b.tryAcquire('m')).toBe(true);
    expect(b.tryAcquire('m')).toBe(false);
    b.record('m', 'success');
    expect(b.snapshot('m').state).toBe('closed');
    expect(b.tryAcquire('m')).toBe(true);
  });

  it('reopens for another cool-down when the trial fails', () => {
    const b = breakers();
    for (let i = 0; i < 3; i += 1) b.record('m', 'failure');
    clock = 1_500;
    expect(b.tryAcquire('m')).toBe(true);
    b.record('m', 'failure');
    expect(b.snapshot('m')).toMatchObject({ state: 'open', openedAtMs: 1_500 });
    clock = 2_000;
    expect(b.tryAcquire('m')).toBe(false);
  });

  it('a neutral end (cancelled, our deadline) frees the trial without deciding', () => {
    const b = breakers();
    for (let i = 0; i < 3; i += 1) b.record('m', 'failure');
    clock = 1_000;
    expect(b.tryAcquire('m')).toBe(true);
    b.record('m', 'neutral');
    expect(b.tryAcquire('m')).toBe(true);
  });
});

import { FaultInjector } from './fault-injector';

describe('FaultInjector', () => {
  it('fails the first N attempts of the identical body, then lets it through', () => {
    const faults = new FaultInjector({ rate429: 0, rate500: 0, randomSeed: 1 });
    const body = { model: 'sim-fast', messages: [{ role: 'user', content: 'x' }] };
    expect(faults.decide('429x2', body)).toMatchObject({ kind: '429', times: 2 });
    expect(faults.decide('429x2', { ...body, model: 'other' })).toMatchObject({ kind: '429' });
    expect(faults.decide('429x2', body)).toMatchObject({ kind: '429' });
    expect(faults.decide('429x2', body)).toBeNull();
    expect(faults.decide('429x2', body)).toBeNull();
  });

  it('injects configured rates reproducibly for a seed', () => {
    const draw = (seed: number) => {
      const faults = new FaultInjector({ rate429: 0.25, rate500: 0.25, randomSeed: seed });
      return Array.from({ length: 200 }, () => {
        const fault = faults.decide(undefined, {});
        return fault && 'kind' in fault ? fault.kind : 'ok';
      });
    };
    const first = draw(7);
    expect(draw(7)).toEqual(first);
    expect(draw(8)).not.toEqual(first);
    const count = (kind: string) => first.filter((k) => k === kind).length;
    expect(count('429')).toBeGreaterThan(20);
    expect(count('500')).toBeGreaterThan(20);
    expect(count('ok')).toBeGreaterThan(60);
  });

  it('never injects with zero rates and no request', () => {
    const faults = new FaultInjector({ rate429: 0, rate500: 0, randomSeed: 1 });
    expect(faults.decide(undefined, {})).toBeNull();
  });

  it('parses the flex refusal like any other fault, counts included', () => {
    const faults = new FaultInjector({ rate429: 0, rate500: 0, randomSeed: 1 });
    expect(faults.decide('flex_unavailablex1', {})).toMatchObject({ kind: 'flex_unavailable', times: 1 });
    expect(faults.decide('flex_unavailablex1', {})).toBeNull();
    expect(faults.decide('flex', {})).toMatchObject({
      error: expect.stringContaining('flex_unavailable') as string,
    });
  });
});

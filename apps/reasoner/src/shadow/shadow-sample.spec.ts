import { randomUUID } from 'node:crypto';
import { isShadowSampled, samplePoint } from './shadow-sample';

describe('isShadowSampled', () => {
  it('decides a task the same way every time', () => {
    const id = '0192f3a4-5b6c-7d8e-9f00-112233445566';
    expect(samplePoint(id)).toBe(samplePoint(id));
    expect(isShadowSampled(id, 0.5)).toBe(samplePoint(id) < 0.5);
  });

  it('samples every task at rate 1 and close to the rate in between', () => {
    const ids = Array.from({ length: 10_000 }, () => randomUUID());
    expect(ids.every((id) => isShadowSampled(id, 1))).toBe(true);
    const share = ids.filter((id) => isShadowSampled(id, 0.25)).length / ids.length;
    // Binomial(10,000, 0.25): a standard deviation of 0.0043; six of them either way.
    expect(share).toBeGreaterThan(0.224);
    expect(share).toBeLessThan(0.276);
  });

  it('keeps a task sampled at a lower rate sampled at any higher one', () => {
    const ids = Array.from({ length: 1_000 }, () => randomUUID());
    const low = ids.filter((id) => isShadowSampled(id, 0.1));
    expect(low.every((id) => isShadowSampled(id, 0.3))).toBe(true);
  });
});

import { SeenSignatures } from './seen-signatures';

describe('SeenSignatures', () => {
  it('accepts a signature once and refuses it again until it expires', () => {
    const seen = new SeenSignatures();
    expect(seen.firstUse('a', 130, 100)).toBe(true);
    expect(seen.firstUse('a', 130, 100)).toBe(false);
    expect(seen.firstUse('a', 130, 130)).toBe(false);
    expect(seen.firstUse('b', 130, 100)).toBe(true);
  });

  it('forgets signatures once they expired (the signature check refuses those anyway)', () => {
    const seen = new SeenSignatures();
    seen.firstUse('a', 110, 100);
    seen.firstUse('b', 140, 100);
    expect(seen.firstUse('c', 150, 120)).toBe(true);
    expect(seen.size).toBe(2);
  });

  it('holds at most its capacity, forgetting the oldest first', () => {
    const seen = new SeenSignatures(2);
    seen.firstUse('a', 130, 100);
    seen.firstUse('b', 130, 100);
    seen.firstUse('c', 130, 100);
    expect(seen.size).toBe(2);
    expect(seen.firstUse('c', 130, 100)).toBe(false);
    expect(seen.firstUse('b', 130, 100)).toBe(false);
  });
});

import { ResponseStore } from './response-store';

describe('ResponseStore', () => {
  it('forgets the response that ended longest ago when full', () => {
    const store = new ResponseStore<string>(2);
    expect(store.add('a', 'A')).toBe(true);
    expect(store.add('b', 'B')).toBe(true);
    store.markEnded('b');
    store.markEnded('a');
    expect(store.add('c', 'C')).toBe(true);
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')).toBe('A');
    expect(store.size).toBe(2);
  });

  it('never drops a running response: refuses a new one when every slot is running', () => {
    const store = new ResponseStore<string>(2);
    store.add('a', 'A');
    store.add('b', 'B');
    expect(store.add('c', 'C')).toBe(false);
    expect(store.running()).toEqual(['A', 'B']);
    store.markEnded('a');
    expect(store.add('c', 'C')).toBe(true);
    expect(store.running()).toEqual(['B', 'C']);
  });

  it('ignores the end of a response it does not hold', () => {
    const store = new ResponseStore<string>(1);
    store.markEnded('ghost');
    store.add('a', 'A');
    expect(store.add('b', 'B')).toBe(false);
  });
});

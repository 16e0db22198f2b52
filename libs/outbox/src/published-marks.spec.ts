import { PublishedMarks } from './published-marks';

describe('PublishedMarks', () => {
  it('marks the rows of many publishes in one call', async () => {
    const calls: string[][] = [];
    const marks = new PublishedMarks(5, (ids) => {
      calls.push([...ids]);
      return Promise.resolve();
    });

    await Promise.all([marks.mark(['a']), marks.mark(['b', 'c']), marks.mark([])]);

    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('fails the marks of a batch whose update failed, and marks the next batch afresh', async () => {
    let fail = true;
    const marked: string[] = [];
    const marks = new PublishedMarks(1, (ids) => {
      if (fail) return Promise.reject(new Error('connection lost'));
      marked.push(...ids);
      return Promise.resolve();
    });

    await expect(marks.mark(['a'])).rejects.toThrow('connection lost');
    fail = false;
    await marks.mark(['b']);

    expect(marked).toEqual(['b']);
  });

  it('marks what is pending when flushed for a stop', async () => {
    const marked: string[] = [];
    const marks = new PublishedMarks(60_000, (ids) => {
      marked.push(...ids);
      return Promise.resolve();
    });

    const pending = marks.mark(['a']);
    await marks.flush();

    await pending;
    expect(marked).toEqual(['a']);
  });
});

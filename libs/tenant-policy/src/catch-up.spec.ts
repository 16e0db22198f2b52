import { CatchUp } from './catch-up';

describe('CatchUp', () => {
  it('is done at once for empty partitions, and for partitions whose messages all expired', () => {
    expect(new CatchUp([]).done).toBe(true);
    expect(
      new CatchUp([
        { partition: 0, startOffset: 0, endOffset: 0 },
        { partition: 1, startOffset: 7, endOffset: 7 },
      ]).done,
    ).toBe(true);
  });

  it('waits for every partition to reach its end offset at start', () => {
    const catchUp = new CatchUp([
      { partition: 0, startOffset: 0, endOffset: 3 },
      { partition: 1, startOffset: 0, endOffset: 1 },
    ]);
    catchUp.advance(0, 3);
    expect(catchUp.done).toBe(false);
    expect(catchUp.behind()).toEqual([{ partition: 1, position: 0, endOffset: 1 }]);
    catchUp.advance(1, 1);
    expect(catchUp.done).toBe(true);
  });

  it('never moves back, and ignores partitions it was not waiting for', () => {
    const catchUp = new CatchUp([{ partition: 0, startOffset: 0, endOffset: 5 }]);
    catchUp.advance(0, 5);
    catchUp.advance(0, 2);
    catchUp.advance(9, 1);
    expect(catchUp.done).toBe(true);
    expect(catchUp.behind()).toEqual([]);
  });

  it('counts messages written after the start as not needed', () => {
    const catchUp = new CatchUp([{ partition: 0, startOffset: 2, endOffset: 4 }]);
    catchUp.advance(0, 9);
    expect(catchUp.done).toBe(true);
  });
});

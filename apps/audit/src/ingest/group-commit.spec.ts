import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('writes what arrives during a write as the next batch, never splitting a submission', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const group = new GroupCommit<number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await first;
    }, 4);
    const a = group.submit([1]);
    const b = group.submit([2, 3]);
    const c = group.submit([4, 5]);
    const d = group.submit([6, 7, 8, 9, 10]);
    release();
    await Promise.all([a, b, c, d]);
    expect(batches).toEqual([[1], [2, 3, 4, 5], [6, 7, 8, 9, 10]]);
  });

  it('fails every submission of a failed batch, and carries on with the next', async () => {
    let calls = 0;
    const group = new GroupCommit<number>(() => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('deadlock')) : Promise.resolve();
    }, 10);
    const failed = group.submit([1]);
    await expect(failed).rejects.toThrow('deadlock');
    await expect(group.submit([2])).resolves.toBeUndefined();
  });
});

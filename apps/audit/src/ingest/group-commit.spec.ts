import { GroupCommit, shardByTenant } from './group-commit';

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

describe('shardByTenant', () => {
  const r = (tenantId: string, n: number) => ({ tenantId, n });

  it('puts each tenant in exactly one shard, in its original order, and balances the shards', () => {
    const records = [r('a', 1), r('b', 1), r('a', 2), r('c', 1), r('a', 3), r('b', 2), r('d', 1)];
    const shards = shardByTenant(records, 2);
    expect(shards).toHaveLength(2);
    const tenantShards = new Map<string, Set<number>>();
    shards.forEach((shard, i) =>
      shard.forEach((rec) => tenantShards.set(rec.tenantId, (tenantShards.get(rec.tenantId) ?? new Set()).add(i))),
    );
    for (const set of tenantShards.values()) expect(set.size).toBe(1);
    expect(shards.flat()).toHaveLength(records.length);
    const aInOrder = shards.flat().filter((x) => x.tenantId === 'a').map((x) => x.n);
    expect(aInOrder).toEqual([1, 2, 3]);
    expect(shards.map((s) => s.length).sort()).toEqual([3, 4]);
  });

  it('keeps one group for one shard or one tenant, and none for nothing', () => {
    expect(shardByTenant([r('a', 1), r('b', 1)], 1)).toEqual([[r('a', 1), r('b', 1)]]);
    expect(shardByTenant([r('a', 1), r('a', 2)], 4)).toEqual([[r('a', 1), r('a', 2)]]);
    expect(shardByTenant([], 3)).toEqual([]);
  });
});

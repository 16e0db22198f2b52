import type { ReasonerConfig } from '../config';
import type { ExecutionRepository } from '../execution/execution.repository';
import type { ExecutionPool } from '../scheduling/execution-pool';
import { LeaseKeeper } from './lease-keeper';

// The renewal round against fakes: what this instance runs, and what the database says it still holds.
function setUp(local: string[]) {
  const aborted: string[] = [];
  const state = { held: [] as string[], failing: false, renewed: [] as string[][] };
  const repo = {
    renewLeases: (_owner: string, _leaseMs: number, ids: readonly string[]) => {
      state.renewed.push([...ids]);
      return state.failing
        ? Promise.reject(new Error('database unreachable'))
        : Promise.resolve(
            state.held.filter((id) => ids.includes(id)).map((id) => ({ id, cancelRequested: false })),
          );
    },
    claim: () => Promise.resolve([]),
    release: () => Promise.resolve(),
  };
  const pool = {
    freeCapacity: 10,
    heldIds: () => [...local],
    abortLost: (id: string) => {
      aborted.push(id);
      return true;
    },
    has: (id: string) => local.includes(id),
    cancel: () => true,
    submit: () => true,
  };
  const keeper = new LeaseKeeper(
    repo as unknown as ExecutionRepository,
    pool as unknown as ExecutionPool,
    { REASONER_INSTANCE_ID: 'me', REASONER_LEASE_MS: 300 } as ReasonerConfig,
  );
  return { keeper, aborted, state };
}

describe('LeaseKeeper', () => {
  it('aborts the calls of executions whose lease another instance now holds, and only those', async () => {
    const { keeper, aborted, state } = setUp(['a', 'b', 'c']);
    state.held = ['a', 'c'];
    await keeper.runOnce();
    expect(aborted).toEqual(['b']);
  });

  it('aborts every call once renewals have failed for a whole lease, not before', async () => {
    const { keeper, aborted, state } = setUp(['a', 'b']);
    state.held = ['a', 'b'];
    await keeper.runOnce();
    state.failing = true;
    await expect(keeper.runOnce()).rejects.toThrow('database unreachable');
    expect(aborted).toEqual([]);
    await new Promise((r) => setTimeout(r, 350));
    await expect(keeper.runOnce()).rejects.toThrow('database unreachable');
    expect(aborted).toEqual(['a', 'b']);
  });

  it('renews only the leases of executions it runs: one it owns but dropped lapses, for a claim to take it up', async () => {
    const { keeper, aborted, state } = setUp(['a']);
    // 'dropped' failed here while the database was unreachable and could not be handed back.
    state.held = ['a', 'dropped'];
    await keeper.runOnce();
    expect(state.renewed).toEqual([['a']]);
    expect(aborted).toEqual([]);
  });
});

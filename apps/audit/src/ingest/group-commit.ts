/**
 * Collects work submitted concurrently and runs it in batches, one batch at a time: whatever arrived while a batch
 * was being written becomes the next batch. Each submitter's promise settles with its batch.
 */
export class GroupCommit<T> {
  private pending: { items: readonly T[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxItems: number,
  ) {}

  submit(items: readonly T[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        // Take whole submissions up to maxItems (at least one, however large), so a submission is never split.
        let count = 0;
        let taken = 0;
        while (
          taken < this.pending.length &&
          (taken === 0 || count + this.pending[taken]!.items.length <= this.maxItems)
        ) {
          count += this.pending[taken]!.items.length;
          taken += 1;
        }
        const batch = this.pending.splice(0, taken);
        try {
          await this.write(batch.flatMap((b) => b.items));
          for (const b of batch) b.resolve();
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/**
 * Splits records into at most `shards` groups so that each tenant falls in exactly one: transactions over different
 * groups never wait on each other's chain heads. Order within a tenant is kept.
 */
export function shardByTenant<T extends { tenantId: string }>(records: readonly T[], shards: number): T[][] {
  if (shards <= 1) return records.length ? [[...records]] : [];
  const groups = Array.from({ length: shards }, () => [] as T[]);
  const shardOf = new Map<string, number>();
  for (const record of records) {
    let shard = shardOf.get(record.tenantId);
    if (shard === undefined) {
      // Least-loaded placement of each new tenant keeps the shards even when a few tenants dominate.
      shard = 0;
      for (let i = 1; i < shards; i += 1) if (groups[i]!.length < groups[shard]!.length) shard = i;
      shardOf.set(record.tenantId, shard);
    }
    groups[shard]!.push(record);
  }
  return groups.filter((g) => g.length > 0);
}

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

const MAX_BATCH = 1_000;

// Marks rows published many per UPDATE: under load this saves a database round trip per event published after its
// commit. A mark that is lost only means the sweep publishes the row once more, with the same event id.
export class PublishedMarks {
  private pending: { id: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly flushAfterMs: number,
    private readonly markPublished: (ids: readonly string[]) => Promise<void>,
  ) {}

  mark(ids: readonly string[]): Promise<void> {
    if (!ids.length) return Promise.resolve();
    const marked = Promise.all(
      ids.map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            this.pending.push({ id, resolve, reject });
          }),
      ),
    );
    this.flushSoon(this.pending.length >= MAX_BATCH ? 0 : this.flushAfterMs);
    return marked.then(() => undefined);
  }

  /** Marks what is pending now, for a clean stop. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.pending.length) await this.flushBatch();
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), delayMs);
  }

  private async fire(): Promise<void> {
    this.timer = null;
    await this.flushBatch();
    if (this.pending.length) this.flushSoon(this.flushAfterMs);
  }

  private async flushBatch(): Promise<void> {
    const batch = this.pending.splice(0, MAX_BATCH);
    if (!batch.length) return;
    try {
      await this.markPublished(batch.map((p) => p.id));
      for (const p of batch) p.resolve();
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}

// A bounded map whose entries expire. When full, the entry that was stored longest ago makes room: a cache that
// only ever holds one kind of entry (hits, or misses) can then be flooded only with entries of that kind.
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, nowMs: number): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs > nowMs) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, expiresAtMs: number): void {
    this.entries.delete(key); // re-inserted last, so it is evicted last
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAtMs });
  }

  clear(): void {
    this.entries.clear();
  }
}

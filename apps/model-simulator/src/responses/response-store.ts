// The simulator's memory of responses, by id, bounded by count: when full, the response that ended longest ago is
// forgotten first; a response still running is never dropped, so when every slot holds one, a new one is refused.

export class ResponseStore<T> {
  private readonly entries = new Map<string, T>();
  // Ids of ended responses, oldest end first (a Set iterates in insertion order).
  private readonly ended = new Set<string>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: string): T | undefined {
    return this.entries.get(id);
  }

  /** Adds a running response; false when every slot holds a running one. */
  add(id: string, entry: T): boolean {
    if (this.entries.size >= this.capacity) {
      const oldest = this.ended.values().next();
      if (oldest.done === true) return false;
      this.ended.delete(oldest.value);
      this.entries.delete(oldest.value);
    }
    this.entries.set(id, entry);
    return true;
  }

  /** The response ended: it may now make room for newer ones. */
  markEnded(id: string): void {
    if (this.entries.has(id)) this.ended.add(id);
  }

  running(): T[] {
    return [...this.entries].filter(([id]) => !this.ended.has(id)).map(([, entry]) => entry);
  }
}

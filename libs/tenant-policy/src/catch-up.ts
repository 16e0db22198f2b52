// Whether a reader that started from the beginning has read every partition up to the end offset it had when the
// reader started. Offsets are Kafka's: the end offset (high-water mark) is the offset the next message will get, the
// start offset (low-water mark) the first one still stored.

export interface PartitionRange {
  partition: number;
  startOffset: number;
  endOffset: number;
}

export class CatchUp {
  private readonly positions = new Map<number, number>();
  private readonly endOffsets = new Map<number, number>();

  constructor(ranges: readonly PartitionRange[]) {
    for (const { partition, startOffset, endOffset } of ranges) {
      this.positions.set(partition, startOffset);
      this.endOffsets.set(partition, endOffset);
    }
  }

  /** Everything of `partition` before `nextOffset` was read (handled, or set aside as undecodable). */
  advance(partition: number, nextOffset: number): void {
    const position = this.positions.get(partition);
    // A partition added after the start holds nothing the reader had to wait for.
    if (position === undefined) return;
    if (nextOffset > position) this.positions.set(partition, nextOffset);
  }

  get done(): boolean {
    return this.behind().length === 0;
  }

  /** The partitions still short of their end offset at start. */
  behind(): { partition: number; position: number; endOffset: number }[] {
    return [...this.endOffsets]
      .map(([partition, endOffset]) => ({
        partition,
        position: this.positions.get(partition) ?? 0,
        endOffset,
      }))
      .filter((p) => p.position < p.endOffset);
  }
}

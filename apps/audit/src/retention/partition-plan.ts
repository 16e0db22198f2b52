// Which time partitions of the records table retention drops whole, and how far ahead partitions are kept created.

const DAY_MS = 86_400_000;

/** A range partition of records by recorded_at: [fromAt, toAt); fromAt null for the one that starts at MINVALUE. */
export interface TimePartition {
  name: string;
  fromAt: Date | null;
  toAt: Date;
}

/** The partitions that lie entirely before the cutoff, oldest first: the order in which they are dropped. */
export function expiredPartitions(partitions: readonly TimePartition[], cutoff: Date): TimePartition[] {
  return partitions
    .filter((p) => p.toAt.getTime() <= cutoff.getTime())
    .sort((a, b) => a.toAt.getTime() - b.toAt.getTime());
}

/** The time partitions are kept created through the current period and the next two. */
export function partitionHorizon(now: Date, partitionDays: number): Date {
  return new Date(now.getTime() + 2 * partitionDays * DAY_MS);
}

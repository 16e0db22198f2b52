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

/**
 * How far the row purge reaches, given the partitions left after the expired ones were dropped. A time partition's
 * records wait for the whole partition to expire and be dropped, so they outlive the retention by up to one
 * partition's width: what is gone is then gone whole, and indexes never carry the dead rows of a purge. The records
 * before the first time partition (the table of an earlier version) go row by row, and so do those of an expired
 * partition that could not be dropped.
 */
export function rowPurgeCutoff(remaining: readonly TimePartition[], cutoff: Date): Date {
  const first = remaining
    .filter((p): p is TimePartition & { fromAt: Date } => p.fromAt !== null)
    .sort((a, b) => a.fromAt.getTime() - b.fromAt.getTime())[0];
  if (!first || first.toAt.getTime() <= cutoff.getTime()) return cutoff;
  return first.fromAt.getTime() < cutoff.getTime() ? first.fromAt : cutoff;
}

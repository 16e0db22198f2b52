import { expiredPartitions, partitionHorizon, type TimePartition } from './partition-plan';

const day = (d: string) => new Date(`${d}T00:00:00.000Z`);
const partition = (name: string, from: string | null, to: string): TimePartition => ({
  name,
  fromAt: from === null ? null : day(from),
  toAt: day(to),
});

describe('expiredPartitions', () => {
  const partitions = [
    partition('records_p20261115', '2026-11-15', '2026-11-22'),
    partition('records_legacy', null, '2026-11-08'),
    partition('records_p20261108', '2026-11-08', '2026-11-15'),
  ];

  it('takes the partitions whose upper bound is at or before the cutoff, oldest first', () => {
    expect(expiredPartitions(partitions, day('2026-11-15')).map((p) => p.name)).toEqual([
      'records_legacy',
      'records_p20261108',
    ]);
  });

  it('leaves the partition across the cutoff to the row purge', () => {
    const cutoff = new Date(day('2026-11-15').getTime() - 1);
    expect(expiredPartitions(partitions, cutoff).map((p) => p.name)).toEqual(['records_legacy']);
  });

  it('takes none before the first bound', () => {
    expect(expiredPartitions(partitions, day('2026-11-01'))).toEqual([]);
  });
});

describe('partitionHorizon', () => {
  it('reaches two periods past now', () => {
    expect(partitionHorizon(new Date('2026-12-01T18:00:00Z'), 7).toISOString()).toBe(
      '2026-12-15T18:00:00.000Z',
    );
  });
});

import { expiredPartitions, partitionHorizon, rowPurgeCutoff, type TimePartition } from './partition-plan';

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

describe('rowPurgeCutoff', () => {
  const legacy = partition('records_legacy', null, '2026-11-08');
  const p8 = partition('records_p20261108', '2026-11-08', '2026-11-15');
  const p15 = partition('records_p20261115', '2026-11-15', '2026-11-22');

  it('stops at the first time partition: its records wait for the whole partition to expire', () => {
    expect(rowPurgeCutoff([legacy, p15, p8], day('2026-11-12'))).toEqual(day('2026-11-08'));
  });

  it('reaches the cutoff while the records before it are in the table of an earlier version', () => {
    expect(rowPurgeCutoff([legacy, p8], day('2026-11-05'))).toEqual(day('2026-11-05'));
  });

  it('reaches the cutoff through an expired partition that could not be dropped', () => {
    expect(rowPurgeCutoff([p8, p15], day('2026-11-17'))).toEqual(day('2026-11-17'));
  });

  it('reaches the cutoff when there is no time partition', () => {
    expect(rowPurgeCutoff([legacy], day('2026-12-01'))).toEqual(day('2026-12-01'));
  });
});

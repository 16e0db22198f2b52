import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import type { TimePartition } from './partition-plan';

/** What dropping a partition removed from one chain: the caller records it as that chain's purge. */
export interface DroppedChainPrefix {
  tenant_id: string;
  purged: string;
  through_seq: string;
  through_hash: Buffer;
}

// The time partitions of the records table, created and dropped only through the owner's functions: the writer role
// owns no partition, so it cannot drop or detach one itself.
@Injectable()
export class RecordPartitionRepository {
  /** Creates the missing partitions until one covers `until` (at most three periods ahead); returns their names. */
  async ensure(sql: Sql, until: Date): Promise<string[]> {
    const rows = await sql.query<{ name: string }>(`SELECT ensure_record_partitions($1) AS name`, [until]);
    return rows.map((r) => r.name);
  }

  async list(sql: Sql): Promise<TimePartition[]> {
    const rows = await sql.query<{ name: string; from_at: Date | null; to_at: Date }>(
      `SELECT name, from_at, to_at FROM record_partitions()`,
    );
    return rows.map((r) => ({ name: r.name, fromAt: r.from_at, toAt: r.to_at }));
  }

  /**
   * Drops a partition entirely before the cutoff (outside the retention floor), if it holds the next prefix of every
   * chain in it, and moves those chains' purge anchors past it; refused otherwise.
   */
  dropExpired(tx: Sql, partition: string, cutoff: Date): Promise<DroppedChainPrefix[]> {
    return tx.query<DroppedChainPrefix>(
      `SELECT tenant_id, purged, through_seq, through_hash FROM drop_expired_partition($1, $2)`,
      [partition, cutoff],
    );
  }
}

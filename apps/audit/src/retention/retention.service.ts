import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { CheckpointService } from '../checkpoints/checkpoint.service';
import { AUDIT_CONFIG, type AuditConfig } from '../config';
import { AuditMetrics } from '../metrics/audit-metrics';
import { internalRecord } from '../chain/internal-record';
import { RecordAppender } from '../chain/record-appender';
import { JobRunMetrics } from '@deliberate/metrics';
import { advisoryLock, PeriodicJob, Sql } from '@deliberate/persistence';
import { ChainRepository } from '../chain/chain.repository';
import { PURGE_RECORD_TYPE, type PurgeRecordData } from '../verify/chain-verifier';
import { expiredPartitions, partitionHorizon, rowPurgeCutoff } from './partition-plan';
import { RecordPartitionRepository } from './record-partition.repository';

export const RETENTION_JOB = 'audit retention purge';

export interface PurgeResult {
  tenantId: string;
  /** The time partition dropped whole, or null for records deleted row by row. */
  partition: string | null;
  purgedCount: number;
  throughSeq: number;
  purgeRecordSeq: number;
}

// Removes records older than the retention period through the database functions that alone may remove them: first
// the time partitions entirely before the cutoff, each dropped whole, then, chain by chain, the expired prefix left
// in the partition across the cutoff. Each removal is recorded, in its own transaction, in every chain it shortened
// (a purge record stating the last purged record's hash, which the first kept record links to) and a checkpoint is
// signed over it. The job also keeps the partitions ahead created.
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RetentionService');
  private readonly job: PeriodicJob;

  constructor(
    private readonly sql: Sql,
    private readonly chains: ChainRepository,
    private readonly partitions: RecordPartitionRepository,
    private readonly appender: RecordAppender,
    private readonly checkpoints: CheckpointService,
    private readonly metrics: AuditMetrics,
    @Inject(AUDIT_CONFIG) private readonly config: AuditConfig,
    runs: JobRunMetrics,
  ) {
    this.job = new PeriodicJob(
      {
        name: RETENTION_JOB,
        intervalMs: config.AUDIT_RETENTION_INTERVAL_MS,
        // One replica purges at a time: the others skip that interval.
        lock: advisoryLock(RETENTION_JOB, sql),
        logger: this.logger,
        runs,
      },
      async () => {
        // Without the partitions ahead appends land in the default partition: worth a warning, not the purge.
        await this.ensurePartitions().catch((e: unknown) =>
          this.logger.warn({ msg: 'record partitions not created', error: (e as Error).message }),
        );
        await this.purgeExpired();
      },
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /** Creates the time partitions through the current period and the next two. */
  async ensurePartitions(now = new Date()): Promise<string[]> {
    const created = await this.partitions.ensure(
      this.sql,
      partitionHorizon(now, this.config.AUDIT_PARTITION_DAYS),
    );
    if (created.length > 0) this.logger.log({ msg: 'record partitions created', partitions: created });
    return created;
  }

  async purgeExpired(now = new Date()): Promise<PurgeResult[]> {
    const cutoff = new Date(now.getTime() - this.config.AUDIT_RETENTION_DAYS * 86_400_000);
    const dropped = await this.dropExpiredPartitions(cutoff);
    // The row purge leaves the records of time partitions to their partition's drop (see rowPurgeCutoff).
    const rowCutoff = rowPurgeCutoff(await this.partitions.list(this.sql), cutoff);
    return [...dropped, ...(await this.purgeExpiredRows(rowCutoff))];
  }

  private async dropExpiredPartitions(cutoff: Date): Promise<PurgeResult[]> {
    const results: PurgeResult[] = [];
    for (const partition of expiredPartitions(await this.partitions.list(this.sql), cutoff)) {
      let dropped: PurgeResult[];
      try {
        dropped = await this.sql.transaction(async (tx) => {
          const prefixes = await this.partitions.dropExpired(tx, partition.name, cutoff);
          const recorded: PurgeResult[] = [];
          for (const prefix of prefixes) {
            recorded.push(
              await this.recordPurge(tx, prefix.tenant_id, partition.name, cutoff, {
                purged: prefix.purged,
                through_seq: prefix.through_seq,
                through_hash: prefix.through_hash,
              }),
            );
          }
          return recorded;
        });
      } catch (e) {
        // Refused (a chain whose records are out of time order, a lock not granted in time): the partition stays,
        // the later ones too (they would cut the same chains), and the row purge below removes the expired records.
        this.logger.warn({
          msg: 'partition not dropped',
          partition: partition.name,
          error: (e as Error).message,
        });
        break;
      }
      this.metrics.appended(dropped.length);
      this.logger.log({ msg: 'partition dropped', partition: partition.name, chains: dropped.length });
      results.push(...dropped);
    }
    return results;
  }

  private async purgeExpiredRows(cutoff: Date): Promise<PurgeResult[]> {
    const results: PurgeResult[] = [];
    for (const tenantId of await this.chains.tenants(this.sql)) {
      const result = await this.sql.transaction(async (tx) => {
        const purged = await this.chains.purgeExpired(tx, tenantId, cutoff);
        if (Number(purged.purged) === 0 || !purged.through_hash) return null;
        return this.recordPurge(tx, tenantId, null, cutoff, { ...purged, through_hash: purged.through_hash });
      });
      if (result) {
        this.metrics.appended(1);
        this.logger.log({ msg: 'records purged', ...result, cutoff: cutoff.toISOString() });
        results.push(result);
      }
    }
    return results;
  }

  // The purge record of one chain, its head pointed at it and a checkpoint signed over it, in the purge's transaction.
  private async recordPurge(
    tx: Sql,
    tenantId: string,
    partition: string | null,
    cutoff: Date,
    purged: { purged: string; through_seq: string; through_hash: Buffer },
  ): Promise<PurgeResult> {
    const data: PurgeRecordData = {
      cutoff: cutoff.toISOString(),
      retentionDays: this.config.AUDIT_RETENTION_DAYS,
      purgedCount: Number(purged.purged),
      throughSeq: Number(purged.through_seq),
      throughHash: purged.through_hash.toString('hex'),
      ...(partition === null ? {} : { partition }),
    };
    const [record] = await this.appender.append(tx, [
      internalRecord(tenantId, PURGE_RECORD_TYPE, { ...data }, { status: 'purged', decision: 'retention' }),
    ]);
    await this.chains.markPurgeRecorded(tx, tenantId, record!.seq);
    await this.checkpoints.checkpoint(tx, tenantId, record!.seq, record!.recordHash);
    return {
      tenantId,
      partition,
      purgedCount: data.purgedCount,
      throughSeq: data.throughSeq,
      purgeRecordSeq: record!.seq,
    };
  }
}

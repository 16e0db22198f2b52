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

export const RETENTION_JOB = 'audit retention purge';

export interface PurgeResult {
  tenantId: string;
  purgedCount: number;
  throughSeq: number;
  purgeRecordSeq: number;
}

// Removes records older than the retention period, a chain prefix at a time, through the database function that
// alone may delete them. In the same transaction the purge is recorded in the chain (stating the last purged
// record's hash, which the first kept record links to) and a checkpoint is signed over it.
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RetentionService');
  private readonly job: PeriodicJob;

  constructor(
    private readonly sql: Sql,
    private readonly chains: ChainRepository,
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

  async purgeExpired(now = new Date()): Promise<PurgeResult[]> {
    const cutoff = new Date(now.getTime() - this.config.AUDIT_RETENTION_DAYS * 86_400_000);
    const tenants = await this.chains.tenants(this.sql);
    const results: PurgeResult[] = [];
    for (const tenantId of tenants) {
      const result = await this.sql.transaction(async (tx) => {
        const purged = await this.chains.purgeExpired(tx, tenantId, cutoff);
        if (Number(purged.purged) === 0 || !purged.through_hash) return null;
        const data: PurgeRecordData = {
          cutoff: cutoff.toISOString(),
          retentionDays: this.config.AUDIT_RETENTION_DAYS,
          purgedCount: Number(purged.purged),
          throughSeq: Number(purged.through_seq),
          throughHash: purged.through_hash.toString('hex'),
        };
        const [record] = await this.appender.append(tx, [
          internalRecord(
            tenantId,
            PURGE_RECORD_TYPE,
            { ...data },
            { status: 'purged', decision: 'retention' },
          ),
        ]);
        await this.chains.markPurgeRecorded(tx, tenantId, record!.seq);
        await this.checkpoints.checkpoint(tx, tenantId, record!.seq, record!.recordHash);
        return {
          tenantId,
          purgedCount: data.purgedCount,
          throughSeq: data.throughSeq,
          purgeRecordSeq: record!.seq,
        };
      });
      if (result) {
        this.metrics.appended(1);
        this.logger.log({ msg: 'records purged', ...result, cutoff: cutoff.toISOString() });
        results.push(result);
      }
    }
    return results;
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { AUDIT_CONFIG, type AuditConfig } from '../config';
import { JobRunMetrics } from '@deliberate/metrics';
import { advisoryLock, PeriodicJob, Sql } from '@deliberate/persistence';
import { CheckpointRepository } from './checkpoint.repository';
import type { CheckpointStatement } from '@deliberate/audit-chain';
import type { SignedCheckpoint } from '@deliberate/contracts';
import { CheckpointSigner } from './checkpoint-signer';

export const CHECKPOINT_JOB = 'audit checkpoints';

// SQLSTATE of audit.add_checkpoint's refusal of a head that no stored record matches.
const CHECK_VIOLATION = '23514';

// Every interval, each chain that grew since its last checkpoint gets one: its head's seq and record hash, signed.
// Exported and kept elsewhere, checkpoints make a rewrite of the chain (even one that recomputes every hash)
// detectable without trusting this database.
@Injectable()
export class CheckpointService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CheckpointService.name);
  private readonly job: PeriodicJob;

  constructor(
    private readonly sql: Sql,
    private readonly repository: CheckpointRepository,
    readonly signer: CheckpointSigner,
    @Inject(AUDIT_CONFIG) private readonly config: AuditConfig,
    runs: JobRunMetrics,
  ) {
    this.job = new PeriodicJob(
      {
        name: CHECKPOINT_JOB,
        intervalMs: config.AUDIT_CHECKPOINT_INTERVAL_MS,
        // One replica signs at a time: two would sign the same heads.
        lock: advisoryLock(CHECKPOINT_JOB, sql),
        logger: new Logger('CheckpointService'),
        runs,
      },
      async () => {
        await this.checkpointDue();
      },
    );
  }

  onApplicationBootstrap(): void {
    // The key id an operator needs for a rotation (AUDIT_CHECKPOINT_PUBLIC_KEYS).
    this.logger.log({ msg: 'signing checkpoints', keyId: this.signer.keyId });
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /** Checkpoints every chain that grew; returns how many were signed. */
  async checkpointDue(): Promise<number> {
    const rows = await this.repository.headsToCheckpoint(this.sql);
    let signed = 0;
    for (const head of rows) {
      try {
        await this.sql.transaction((tx) =>
          this.checkpoint(tx, head.tenant_id, Number(head.last_seq), head.last_hash),
        );
        signed += 1;
      } catch (e) {
        // The database refuses to sign a head that no stored record matches (the chain was tampered with): that
        // chain stays unsigned, and verify names it; the other tenants' chains are still checkpointed.
        if ((e as { code?: string }).code !== CHECK_VIOLATION) throw e;
        this.logger.error({
          msg: 'chain head matches no stored record: not checkpointed; run verify on this chain',
          tenantId: head.tenant_id,
          seq: Number(head.last_seq),
        });
      }
    }
    return signed;
  }

  /** Signs one position of one chain, inside the caller's transaction. */
  async checkpoint(tx: Sql, tenantId: string, seq: number, hash: Buffer): Promise<void> {
    const statement: CheckpointStatement = {
      tenantId,
      seq,
      recordHash: hash.toString('hex'),
      at: new Date().toISOString(),
    };
    const signature = this.signer.sign(statement);
    await this.repository.insert(tx, {
      tenantId,
      seq,
      hash,
      signedAt: statement.at,
      keyId: this.signer.keyId,
      signature,
    });
  }

  async list(sql: Sql, tenantId: string | null, fromSeq: number, limit: number): Promise<SignedCheckpoint[]> {
    const rows = await this.repository.list(sql, tenantId, fromSeq, limit);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      seq: Number(r.seq),
      recordHash: r.record_hash.toString('hex'),
      at: r.signed_at.toISOString(),
      keyId: r.key_id,
      signature: r.signature.toString('base64'),
    }));
  }
}

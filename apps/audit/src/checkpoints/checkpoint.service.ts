import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { PoolClient } from 'pg';
import { AUDIT_CONFIG, type AuditConfig } from '../config';
import { AuditDatabase, type Sql } from '../persistence/audit-database';
import { CheckpointSigner, type CheckpointStatement } from './checkpoint-signer';

export interface ExportedCheckpoint extends CheckpointStatement {
  keyId: string;
  /** Base64 Ed25519 signature over the canonical JSON of {at, recordHash, seq, tenantId}. */
  signature: string;
}

// Every interval, each chain that grew since its last checkpoint gets one: its head's seq and record hash, signed.
// Exported and kept elsewhere, checkpoints make a rewrite of the chain (even one that recomputes every hash)
// detectable without trusting this database.
@Injectable()
export class CheckpointService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CheckpointService');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: AuditDatabase,
    readonly signer: CheckpointSigner,
    @Inject(AUDIT_CONFIG) private readonly config: AuditConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running = this.checkpointDue().catch((e: unknown) =>
        this.logger.warn({ msg: 'checkpointing failed', error: (e as Error).message }),
      );
    }, this.config.AUDIT_CHECKPOINT_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Checkpoints every chain that grew; returns how many were signed. */
  async checkpointDue(): Promise<number> {
    const { rows } = await this.database.pool.query<{
      tenant_id: string;
      last_seq: string;
      last_hash: Buffer;
    }>(
      `SELECT tenant_id, last_seq, last_hash FROM chain_heads WHERE last_seq > checkpointed_seq ORDER BY tenant_id`,
    );
    for (const head of rows) {
      await this.database.transaction((tx) =>
        this.checkpoint(tx, head.tenant_id, Number(head.last_seq), head.last_hash),
      );
    }
    return rows.length;
  }

  /** Signs one position of one chain, inside the caller's transaction. */
  async checkpoint(tx: PoolClient, tenantId: string, seq: number, hash: Buffer): Promise<void> {
    const statement: CheckpointStatement = {
      tenantId,
      seq,
      recordHash: hash.toString('hex'),
      at: new Date().toISOString(),
    };
    const signature = this.signer.sign(statement);
    await tx.query(
      `INSERT INTO checkpoints (tenant_id, seq, record_hash, signed_at, key_id, signature)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, seq) DO NOTHING`,
      [tenantId, seq, hash, statement.at, this.signer.keyId, signature],
    );
    await tx.query(
      `UPDATE chain_heads SET checkpointed_seq = GREATEST(checkpointed_seq, $2) WHERE tenant_id = $1`,
      [tenantId, seq],
    );
  }

  async list(
    sql: Sql,
    tenantId: string | null,
    fromSeq: number,
    limit: number,
  ): Promise<ExportedCheckpoint[]> {
    const { rows } = await sql.query<{
      tenant_id: string;
      seq: string;
      record_hash: Buffer;
      signed_at: Date;
      key_id: string;
      signature: Buffer;
    }>(
      `SELECT tenant_id, seq, record_hash, signed_at, key_id, signature FROM checkpoints
        WHERE ($1::text IS NULL OR tenant_id = $1) AND seq >= $2
        ORDER BY tenant_id, seq LIMIT $3`,
      [tenantId, fromSeq, limit],
    );
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

import type { BrokenLink, HeadMismatch, VerifyReport } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Inject, Injectable } from '@nestjs/common';
import { ChainRepository, type ChainRecordRow } from '../chain/chain.repository';
import { CheckpointKeyring } from '../checkpoints/checkpoint-keyring';
import { CheckpointRepository } from '../checkpoints/checkpoint.repository';
import { AuditMetrics } from '../metrics/audit-metrics';
import { AUDIT_READ_SQL } from '../reads/read-sql';
import { contentHash, GENESIS_HASH, recordHash } from '@deliberate/audit-chain';

const hex = (b: Buffer | null | undefined) => (b ? b.toString('hex') : '(none)');
const BATCH = 10_000;

// Walks a chain in seq order with a keyset cursor: recomputes each content hash from the stored columns and content,
// checks each link to the predecessor and each signed checkpoint, and stops at the first broken link. The walk ends
// at the furthest of the head, the last stored record and the newest signed checkpoint, so a tail deleted with the
// head set back is a gap below the checkpoint, and the head is named as rewound.
@Injectable()
export class ChainVerifier {
  constructor(
    // Verify reads only: on the read database when one is configured.
    @Inject(AUDIT_READ_SQL) private readonly sql: Sql,
    private readonly chains: ChainRepository,
    private readonly checkpointRecords: CheckpointRepository,
    private readonly keyring: CheckpointKeyring,
    private readonly metrics: AuditMetrics,
  ) {}

  async verify(tenantId: string, range: { fromSeq?: number; toSeq?: number } = {}): Promise<VerifyReport> {
    const report = await this.walk(tenantId, range);
    if (!report.ok) this.metrics.verifyFailed();
    return report;
  }

  private async walk(tenantId: string, range: { fromSeq?: number; toSeq?: number }): Promise<VerifyReport> {
    const started = performance.now();
    const state = await this.chains.state(this.sql, tenantId);
    const headSeq = Number(state.last_seq ?? 0);
    const lastStoredSeq = Number(state.last_stored_seq ?? 0);
    const checkpointSeq = state.checkpoint_seq === null ? null : Number(state.checkpoint_seq);
    const purgedThrough = Number(state.purged_through_seq ?? 0);
    const endSeq = Math.max(headSeq, lastStoredSeq, checkpointSeq ?? 0);
    const fromSeq = Math.max(range.fromSeq ?? 1, purgedThrough + 1);
    const toSeq = Math.min(range.toSeq ?? endSeq, endSeq);
    let headMismatch: HeadMismatch | null =
      headSeq < endSeq
        ? {
            reason: 'head_rewound',
            headSeq,
            lastStoredSeq,
            checkpointSeq,
            expected: `head at seq ${endSeq}`,
            found: `head at seq ${headSeq}`,
            detail: [
              checkpointSeq !== null && checkpointSeq > headSeq
                ? `a signed checkpoint covers the chain up to seq ${checkpointSeq}`
                : null,
              lastStoredSeq > headSeq ? `records are stored up to seq ${lastStoredSeq}` : null,
            ]
              .filter(Boolean)
              .join('; '),
          }
        : null;
    const report = (
      checked: number,
      checkpointsChecked: number,
      broken: BrokenLink | null,
    ): VerifyReport => ({
      tenantId,
      ok: broken === null && headMismatch === null,
      checked,
      checkpointsChecked,
      fromSeq,
      toSeq,
      headSeq,
      lastStoredSeq,
      purgedThroughSeq: purgedThrough,
      newestCheckpoint:
        checkpointSeq === null
          ? null
          : {
              seq: checkpointSeq,
              keyId: state.checkpoint_key_id!,
              at: state.checkpoint_signed_at!.toISOString(),
            },
      firstBrokenLink: broken,
      headMismatch,
      elapsedMs: Math.round(performance.now() - started),
    });
    if (fromSeq > toSeq) return report(0, 0, null);

    let expectedPrev: Buffer;
    if (fromSeq === purgedThrough + 1) {
      expectedPrev = purgedThrough === 0 ? GENESIS_HASH : (state.purged_through_hash ?? GENESIS_HASH);
      if (purgedThrough > 0) {
        const broken = await this.checkPurgeAnchor(
          tenantId,
          state.last_purge_seq,
          purgedThrough,
          expectedPrev,
        );
        if (broken) return report(0, 0, { ...broken, seq: fromSeq, keyId: null });
      }
    } else {
      const prev = await this.chains.recordHashAt(this.sql, tenantId, fromSeq - 1);
      if (!prev) {
        return report(0, 0, {
          seq: fromSeq - 1,
          eventId: null,
          reason: 'gap',
          expected: `seq ${fromSeq - 1}`,
          found: 'no record',
          detail: 'the record before the range is missing',
          keyId: null,
        });
      }
      expectedPrev = prev;
    }

    const checkpoints = new Map<number, { hash: Buffer; at: Date; keyId: string; signature: Buffer }>();
    for (const c of await this.checkpointRecords.between(this.sql, tenantId, fromSeq, toSeq)) {
      checkpoints.set(Number(c.seq), {
        hash: c.record_hash,
        at: c.signed_at,
        keyId: c.key_id,
        signature: c.signature,
      });
    }

    // Seqs are dense in an intact chain, so the next batch is fetched by seq range while this one is hashed:
    // Postgres reads while Node hashes. A gap only means a batch holds fewer rows; every row is still checked.
    const fetchBatch = (from: number): Promise<ChainRecordRow[]> => {
      if (from > toSeq) return Promise.resolve([]);
      const rows = this.chains.records(this.sql, tenantId, from, Math.min(from + BATCH, toSeq + 1));
      // A report that stops at a broken link leaves the prefetch unawaited: its failure must not go unhandled.
      rows.catch(() => undefined);
      return rows;
    };
    let expectedSeq = fromSeq;
    let checked = 0;
    let checkpointsChecked = 0;
    let batchFrom = fromSeq;
    let next = fetchBatch(batchFrom);
    for (;;) {
      const rows = await next;
      batchFrom += BATCH;
      next = fetchBatch(batchFrom);
      for (const r of rows) {
        const seq = Number(r.seq);
        if (seq !== expectedSeq) {
          return report(checked, checkpointsChecked, {
            seq: expectedSeq,
            eventId: null,
            reason: 'gap',
            expected: `seq ${expectedSeq}`,
            found: `seq ${seq}`,
            detail: `records ${expectedSeq}..${seq - 1} are missing`,
            keyId: null,
          });
        }
        const recomputed = contentHash({
          tenantId,
          seq,
          eventId: r.event_id,
          type: r.event_type,
          source: r.source,
          taskId: r.task_id,
          occurredAt: r.occurred_at,
          recordedAt: r.recorded_at,
          route: r.route,
          model: r.model,
          status: r.status,
          decision: r.decision,
          content: r.content,
        });
        if (!recomputed.equals(r.content_hash)) {
          return report(checked, checkpointsChecked, {
            seq,
            eventId: r.event_id,
            reason: 'content_mismatch',
            expected: hex(r.content_hash),
            found: hex(recomputed),
            detail:
              'the stored record no longer hashes to its content hash: its columns or content were changed',
            keyId: null,
          });
        }
        if (!r.prev_hash.equals(expectedPrev)) {
          return report(checked, checkpointsChecked, {
            seq,
            eventId: r.event_id,
            reason: 'link_mismatch',
            expected: hex(expectedPrev),
            found: hex(r.prev_hash),
            detail: 'the record does not link to the record before it',
            keyId: null,
          });
        }
        const linked = recordHash(r.prev_hash, r.content_hash);
        if (!linked.equals(r.record_hash)) {
          return report(checked, checkpointsChecked, {
            seq,
            eventId: r.event_id,
            reason: 'link_mismatch',
            expected: hex(linked),
            found: hex(r.record_hash),
            detail: 'the record hash is not the hash of its predecessor and content',
            keyId: null,
          });
        }
        const checkpoint = checkpoints.get(seq);
        if (checkpoint) {
          checkpointsChecked += 1;
          const statement = {
            tenantId,
            seq,
            recordHash: hex(checkpoint.hash),
            at: checkpoint.at.toISOString(),
          };
          // A checkpoint means something only if a key of the keyring signed it within the key's period.
          const verdict = this.keyring.verify(statement, checkpoint.keyId, checkpoint.signature);
          if (!verdict.ok) {
            return report(checked, checkpointsChecked, {
              seq,
              eventId: r.event_id,
              reason: verdict.reason,
              expected: 'a checkpoint signed by a key of the keyring, within its validity',
              found: `key ${checkpoint.keyId}, signed at ${statement.at}`,
              detail: verdict.detail,
              keyId: checkpoint.keyId,
            });
          }
          if (!checkpoint.hash.equals(r.record_hash)) {
            return report(checked, checkpointsChecked, {
              seq,
              eventId: r.event_id,
              reason: 'checkpoint_mismatch',
              expected: hex(checkpoint.hash),
              found: hex(r.record_hash),
              detail: 'the chain differs from what the signed checkpoint recorded here',
              keyId: checkpoint.keyId,
            });
          }
        }
        if (
          seq === headSeq &&
          headMismatch === null &&
          state.last_hash &&
          !state.last_hash.equals(r.record_hash)
        ) {
          headMismatch = {
            reason: 'head_hash_mismatch',
            headSeq,
            lastStoredSeq,
            checkpointSeq,
            expected: hex(r.record_hash),
            found: hex(state.last_hash),
            detail:
              'the head does not hold the record hash at its seq: the next append would not link to the chain',
          };
        }
        expectedPrev = r.record_hash;
        expectedSeq = seq + 1;
        checked += 1;
      }
      if (batchFrom > toSeq) break;
    }
    if (expectedSeq <= toSeq) {
      return report(checked, checkpointsChecked, {
        seq: expectedSeq,
        eventId: null,
        reason: 'gap',
        expected: `seq ${expectedSeq}..${toSeq}`,
        found: 'no record',
        detail: `the chain reaches seq ${endSeq} (head ${headSeq}, newest checkpoint ${checkpointSeq ?? 'none'}), the last ${toSeq - expectedSeq + 1} records are missing`,
        keyId: null,
      });
    }
    return report(checked, checkpointsChecked, null);
  }

  // After a purge the first remaining record links to a hash that is no longer in the table: it is trusted only
  // because a purge record in the chain states it.
  private async checkPurgeAnchor(
    tenantId: string,
    lastPurgeSeq: string | null,
    purgedThrough: number,
    anchor: Buffer,
  ): Promise<Omit<BrokenLink, 'seq' | 'keyId'> | null> {
    const row = lastPurgeSeq ? await this.chains.recordAt(this.sql, tenantId, lastPurgeSeq) : undefined;
    const stated =
      row?.event_type === PURGE_RECORD_TYPE ? (JSON.parse(row.content) as PurgeRecordData) : null;
    if (stated && stated.throughSeq === purgedThrough && stated.throughHash === hex(anchor)) return null;
    return {
      eventId: row?.event_id ?? null,
      reason: 'link_mismatch',
      expected: `purge record stating seq ${purgedThrough} / ${hex(anchor)}`,
      found: stated ? `seq ${stated.throughSeq} / ${stated.throughHash}` : 'no purge record',
      detail:
        'records were removed before the first one kept, and no purge record in the chain accounts for them',
    };
  }
}

export const PURGE_RECORD_TYPE = 'audit.retention.purged.v1';

export interface PurgeRecordData {
  cutoff: string;
  retentionDays: number;
  purgedCount: number;
  throughSeq: number;
  throughHash: string;
  /** The time partition dropped whole, when the purge was one. */
  partition?: string;
}

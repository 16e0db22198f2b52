import { canonicalJson } from '@deliberate/audit-chain';
import {
  type AuditExportLine,
  type AuditPage,
  type AuditRecordView,
  type AuditTimeline,
  type CheckpointList,
  describePrincipal,
  type Principal,
  type VerifyReport,
} from '@deliberate/contracts';
import { ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { internalRecord, PLATFORM_CHAIN } from '../chain/internal-record';
import { RecordAppender } from '../chain/record-appender';
import { AuditMetrics } from '../metrics/audit-metrics';
import { CheckpointKeyring } from '../checkpoints/checkpoint-keyring';
import { CheckpointService } from '../checkpoints/checkpoint.service';
import { Sql } from '@deliberate/persistence';
import { RecordPrivacy } from '../privacy/record-privacy';
import { ChainVerifier } from '../verify/chain-verifier';
import { type CheckpointsQuery, type EventFilters, encodeCursor, type SearchQuery } from './audit-queries';
import { isChainRefusal, type StoredRecordRow } from '../chain/chain.repository';
import { RecordQueryRepository } from './record-query.repository';
import { reviewerAccess } from './review-access';
import { AUDIT_READ_SQL } from '../reads/read-sql';

export const AUDITOR_QUERY_TYPE = 'audit.query.v1';

const describeWho = (p: Principal) =>
  p.kind === 'tenant'
    ? { kind: p.kind, tenantId: p.tenantId, role: p.role, keyId: p.keyId }
    : { kind: p.kind };

@Injectable()
export class AuditTrailService {
  constructor(
    private readonly sql: Sql,
    private readonly appender: RecordAppender,
    private readonly queries: RecordQueryRepository,
    private readonly privacy: RecordPrivacy,
    private readonly verifier: ChainVerifier,
    private readonly checkpoints: CheckpointService,
    private readonly keyring: CheckpointKeyring,
    private readonly metrics: AuditMetrics,
    @Inject(AUDIT_READ_SQL) private readonly reads: Sql,
  ) {}

  view(r: StoredRecordRow): AuditRecordView {
    return {
      tenantId: r.tenant_id,
      seq: Number(r.seq),
      eventId: r.event_id,
      type: r.event_type,
      source: r.source,
      taskId: r.task_id,
      occurredAt: r.occurred_at.toISOString(),
      recordedAt: r.recorded_at.toISOString(),
      route: r.route,
      model: r.model,
      status: r.status,
      decision: r.decision,
      data: this.privacy.reveal(r.tenant_id, JSON.parse(r.content)),
      prevHash: r.prev_hash.toString('hex'),
      contentHash: r.content_hash.toString('hex'),
      recordHash: r.record_hash.toString('hex'),
    };
  }

  exportLine(r: StoredRecordRow): AuditExportLine {
    const view = this.view(r);
    return canonicalJson(view.data) === r.content ? view : { ...view, storedContent: r.content };
  }

  /**
   * Every auditor query is itself a record: who asked what, in the chain of the tenant asked about (or the platform
   * chain for a query over every tenant). Written before the answer goes out.
   */
  async recordQuery(
    principal: Principal,
    tenantId: string | null,
    endpoint: string,
    filters: Record<string, unknown>,
  ): Promise<void> {
    const data = { who: describeWho(principal), principal: describePrincipal(principal), endpoint, filters };
    const columns = { status: 'asked', decision: endpoint };
    const record = internalRecord(tenantId ?? PLATFORM_CHAIN, AUDITOR_QUERY_TYPE, data, columns);
    try {
      await this.sql.transaction((tx) => this.appender.append(tx, [record]));
    } catch (e) {
      // A tenant chain whose head was set back refuses appends; the query is recorded in the platform chain instead,
      // naming that chain, so that verify can still answer what is wrong with it.
      if (tenantId === null || !isChainRefusal(e)) throw e;
      const instead = internalRecord(
        PLATFORM_CHAIN,
        AUDITOR_QUERY_TYPE,
        { ...data, refusedByChain: tenantId, refusal: (e as Error).message },
        columns,
      );
      await this.sql.transaction((tx) => this.appender.append(tx, [instead]));
    }
    this.metrics.appended(1);
  }

  async timeline(principal: Principal, tenantId: string | null, taskId: string): Promise<AuditTimeline> {
    const [rows] = await Promise.all([
      this.queries.timeline(tenantId, taskId),
      this.recordQuery(principal, tenantId, 'task-timeline', { taskId }),
    ]);
    if (rows.length === 0) throw new NotFoundException(`no audit records for task ${taskId}`);
    // A reviewer reads the trail of a task waiting for a human, so as to answer it, and no other.
    if (principal.kind === 'tenant' && principal.role === 'reviewer') {
      const access = reviewerAccess(
        taskId,
        rows.map((r) => ({
          type: r.event_type,
          occurredAt: r.occurred_at.toISOString(),
          decision: r.decision,
        })),
      );
      if (!access.allowed) throw new ForbiddenException(access.reason);
    }
    return { taskId, tenantId: rows[0]!.tenant_id, entries: rows.map((r) => this.view(r)) };
  }

  async search(principal: Principal, query: SearchQuery): Promise<AuditPage> {
    const { limit, cursor, ...filters } = query;
    const [rows] = await Promise.all([
      this.queries.search(filters, cursor, limit + 1),
      this.recordQuery(principal, filters.tenantId ?? null, 'search', {
        ...filters,
        cursor: cursor ? 'set' : null,
      }),
    ]);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => this.view(r)),
      nextCursor:
        rows.length > limit && last
          ? encodeCursor({ occurredAt: last.occurred_at, tenantId: last.tenant_id, seq: Number(last.seq) })
          : null,
    };
  }

  /** Every record matching `filters`, a page at a time, for an export. */
  async *scan(filters: EventFilters, pageSize = 1_000): AsyncGenerator<AuditExportLine[]> {
    let cursor: { occurredAt: Date; tenantId: string; seq: number } | undefined;
    for (;;) {
      const rows = await this.queries.search(filters, cursor, pageSize);
      if (rows.length === 0) return;
      yield rows.map((r) => this.exportLine(r));
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      cursor = { occurredAt: last.occurred_at, tenantId: last.tenant_id, seq: Number(last.seq) };
    }
  }

  async verify(
    principal: Principal,
    tenantId: string,
    range: { fromSeq?: number; toSeq?: number },
  ): Promise<VerifyReport> {
    await this.recordQuery(principal, tenantId, 'verify', { ...range });
    return this.verifier.verify(tenantId, range);
  }

  async exportCheckpoints(
    principal: Principal,
    tenantId: string | null,
    query: CheckpointsQuery,
  ): Promise<CheckpointList> {
    await this.recordQuery(principal, tenantId, 'checkpoints', {
      fromSeq: query.fromSeq,
      limit: query.limit,
    });
    const checkpoints = await this.checkpoints.list(this.reads, tenantId, query.fromSeq, query.limit);
    return {
      algorithm: 'Ed25519',
      keyId: this.checkpoints.signer.keyId,
      publicKeyPem: this.checkpoints.signer.publicKeyPem,
      signedPayload: 'canonical JSON (sorted keys, no spaces) of {"at","recordHash","seq","tenantId"}',
      // Every key a checkpoint may be signed by (the current one and those it replaced), so that checkpoints signed
      // before a rotation verify outside the system too.
      keys: this.keyring.keys().map((k) => ({
        keyId: k.keyId,
        publicKeyPem: k.publicKeyPem,
        notBefore: k.notBefore?.toISOString() ?? null,
        notAfter: k.notAfter?.toISOString() ?? null,
        current: k.current,
      })),
      checkpoints,
    };
  }
}

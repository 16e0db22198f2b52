import { Inject, Injectable } from '@nestjs/common';
import { Sql } from '@deliberate/persistence';
import type { StoredRecordRow } from '../chain/chain.repository';
import { AUDIT_READ_SQL } from '../reads/read-sql';
import type { Cursor, EventFilters } from './audit-queries';

const COLUMNS = `tenant_id, seq, event_id, event_type, source, task_id, occurred_at, recorded_at, route, model, status,
  decision, content, prev_hash, content_hash, record_hash`;

// A metadata value arrives as query text; the task may have stored it as a number or a boolean.
function metadataCandidates(key: string, value: string): string[] {
  const candidates: unknown[] = [value];
  if (value !== '' && Number.isFinite(Number(value))) candidates.push(Number(value));
  if (value === 'true' || value === 'false') candidates.push(value === 'true');
  return candidates.map((v) => JSON.stringify({ [key]: v }));
}

@Injectable()
export class RecordQueryRepository {
  constructor(@Inject(AUDIT_READ_SQL) private readonly sql: Sql) {}

  /** A task's records, oldest first; `tenantId` null for a platform auditor. */
  timeline(tenantId: string | null, taskId: string): Promise<StoredRecordRow[]> {
    return this.sql.query<StoredRecordRow>(
      `SELECT ${COLUMNS} FROM records WHERE task_id = $1 AND ($2::text IS NULL OR tenant_id = $2)
        ORDER BY occurred_at, tenant_id, seq`,
      [taskId, tenantId],
    );
  }

  /** One page in (occurred_at, tenant_id, seq) order, after `cursor`. */
  search(filters: EventFilters, cursor: Cursor | undefined, limit: number): Promise<StoredRecordRow[]> {
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (filters.tenantId) where.push(`tenant_id = ${p(filters.tenantId)}`);
    if (filters.from) where.push(`occurred_at >= ${p(filters.from)}`);
    if (filters.to) where.push(`occurred_at < ${p(filters.to)}`);
    if (filters.type) where.push(`event_type = ${p(filters.type)}`);
    if (filters.taskId) where.push(`task_id = ${p(filters.taskId)}`);
    if (filters.route) where.push(`route = ${p(filters.route)}`);
    if (filters.model) where.push(`model = ${p(filters.model)}`);
    if (filters.status) where.push(`status = ${p(filters.status)}`);
    if (filters.decision) where.push(`decision = ${p(filters.decision)}`);
    for (const [key, value] of Object.entries(filters.metadata)) {
      where.push(
        `(${metadataCandidates(key, value)
          .map((c) => `metadata @> ${p(c)}::jsonb`)
          .join(' OR ')})`,
      );
    }
    if (filters.q) where.push(`search @@ websearch_to_tsquery('simple', ${p(filters.q)})`);
    if (cursor) {
      // Within one tenant the index order is (occurred_at, seq); across tenants the tenant breaks ties.
      where.push(
        filters.tenantId
          ? `(occurred_at, seq) > (${p(cursor.occurredAt)}, ${p(cursor.seq)})`
          : `(occurred_at, tenant_id, seq) > (${p(cursor.occurredAt)}, ${p(cursor.tenantId)}, ${p(cursor.seq)})`,
      );
    }
    return this.sql.query<StoredRecordRow>(
      `SELECT ${COLUMNS} FROM records ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY occurred_at, tenant_id, seq LIMIT ${p(limit)}`,
      params,
    );
  }
}

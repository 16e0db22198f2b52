import { uuidv7 } from '@deliberate/contracts';
import { canonicalJson } from '@deliberate/audit-chain';
import type { PreparedRecord } from './record-appender';

/** The chain of queries that span every tenant (a platform auditor's); `*` is never part of a tenant slug. */
export const PLATFORM_CHAIN = '*platform';

/** A record the audit service writes about itself: an auditor's query, a retention purge. */
export function internalRecord(
  tenantId: string,
  type: string,
  data: Record<string, unknown>,
  columns: { status?: string; decision?: string; eventId?: string } = {},
): PreparedRecord {
  return {
    tenantId,
    eventId: columns.eventId ?? uuidv7(),
    type,
    source: 'audit',
    taskId: null,
    occurredAt: new Date(),
    route: null,
    model: null,
    status: columns.status ?? null,
    decision: columns.decision ?? null,
    metadata: {},
    content: canonicalJson(data),
    searchText: null,
  };
}

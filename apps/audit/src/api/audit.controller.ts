import type { AuditRecordView, Principal } from '@deliberate/contracts';
import { Allow, CurrentPrincipal, resolveTenant, ZodQueryPipe } from '@deliberate/http';
import { Controller, Get, Inject, Param, ParseUUIDPipe, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { once } from 'node:events';
import { AUDIT_CONFIG, type AuditConfig } from '../config';
import {
  type CheckpointsQuery,
  checkpointsQuerySchema,
  type ExportQuery,
  exportQuerySchema,
  type SearchQuery,
  searchQuerySchema,
  tenantQuerySchema,
  type VerifyQuery,
  verifyQuerySchema,
} from './audit-queries';
import { AuditTrailService } from './audit-trail.service';

const CSV_COLUMNS = [
  'tenantId',
  'seq',
  'occurredAt',
  'recordedAt',
  'type',
  'source',
  'eventId',
  'taskId',
  'route',
  'model',
  'status',
  'decision',
  'data',
  'prevHash',
  'contentHash',
  'recordHash',
] as const;

function csvCell(value: unknown): string {
  const text =
    value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  // A leading = + - @ would be a formula to a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const csvLine = (r: AuditRecordView) => `${CSV_COLUMNS.map((c) => csvCell(r[c])).join(',')}\r\n`;

// Tenant auditors see their own tenant; the platform auditor sees every tenant, or one with ?tenantId=.
@Controller('v1/audit')
export class AuditController {
  private readonly searchSchema;

  constructor(
    private readonly trail: AuditTrailService,
    @Inject(AUDIT_CONFIG) config: AuditConfig,
  ) {
    this.searchSchema = searchQuerySchema(config.AUDIT_PAGE_SIZE_MAX);
  }

  // A reviewer too, for a task of its tenant waiting for a human (the service decides from the task's records).
  @Get('tasks/:taskId')
  @Allow('auditor', 'platform-auditor', 'reviewer')
  timeline(
    @CurrentPrincipal() principal: Principal,
    @Param('taskId', new ParseUUIDPipe({ errorHttpStatusCode: 400 })) taskId: string,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: { tenantId?: string },
  ) {
    return this.trail.timeline(principal, resolveTenant(principal, query.tenantId, true), taskId);
  }

  @Get('events')
  @Allow('auditor', 'platform-auditor')
  search(@CurrentPrincipal() principal: Principal, @Query() raw: Record<string, unknown>) {
    const query: SearchQuery = new ZodQueryPipe(this.searchSchema).transform(raw);
    const tenantId = resolveTenant(principal, query.tenantId, true) ?? undefined;
    return this.trail.search(principal, { ...query, tenantId });
  }

  @Get('export')
  @Allow('auditor', 'platform-auditor')
  async export(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(exportQuerySchema)) query: ExportQuery,
    @Res() res: Response,
  ): Promise<void> {
    const { format, ...rest } = query;
    const filters = { ...rest, tenantId: resolveTenant(principal, query.tenantId, true) ?? undefined };
    await this.trail.recordQuery(principal, filters.tenantId ?? null, 'export', { ...filters, format });
    const name = `audit-${filters.tenantId ?? 'all'}-${query.from.toISOString().slice(0, 10)}-${query.to.toISOString().slice(0, 10)}`;
    res.status(200);
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    res.setHeader('Content-Disposition', `attachment; filename="${name}.${format}"`);
    if (format === 'csv') res.write(`${CSV_COLUMNS.join(',')}\r\n`);
    try {
      for await (const page of this.trail.scan(filters)) {
        const chunk = page.map((r) => (format === 'csv' ? csvLine(r) : `${JSON.stringify(r)}\n`)).join('');
        if (!res.write(chunk)) await once(res, 'drain');
      }
    } catch (e) {
      // Headers are gone: the only honest signal left is a broken stream.
      res.destroy(e as Error);
      return;
    }
    res.end();
  }

  @Get('verify')
  @Allow('auditor', 'platform-auditor')
  verify(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(verifyQuerySchema)) query: VerifyQuery,
  ) {
    const tenantId = resolveTenant(principal, query.tenantId);
    return this.trail.verify(principal, tenantId, { fromSeq: query.fromSeq, toSeq: query.toSeq });
  }

  @Get('checkpoints')
  @Allow('auditor', 'platform-auditor')
  checkpoints(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(checkpointsQuerySchema)) query: CheckpointsQuery,
  ) {
    return this.trail.exportCheckpoints(principal, resolveTenant(principal, query.tenantId, true), query);
  }
}

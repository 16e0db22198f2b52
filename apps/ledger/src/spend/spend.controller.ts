import type { Principal, SpendResponse } from '@deliberate/contracts';
import { Controller, Get, Header, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Allow, CurrentPrincipal, resolveTenant, ZodQueryPipe } from '@deliberate/http';
import { type SpendQuery, spendQuerySchema } from './spend-query';
import { SpendService } from './spend.service';

@Controller('v1/ledger')
export class SpendController {
  constructor(private readonly spend: SpendService) {}

  @Get('spend')
  @Allow('admin', 'auditor', 'platform-admin')
  report(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(spendQuerySchema)) query: SpendQuery,
  ): Promise<SpendResponse> {
    return this.spend.report(resolveTenant(principal, query.tenantId, true), query);
  }

  @Get('spend.csv')
  @Allow('admin', 'auditor', 'platform-admin')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  async csv(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(spendQuerySchema)) query: SpendQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    const tenantId = resolveTenant(principal, query.tenantId, true);
    const report = await this.spend.report(tenantId, query);
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="spend-${tenantId ?? 'all'}-${query.groupBy}-${report.from.slice(0, 10)}-${report.to.slice(0, 10)}.csv"`,
    );
    return this.spend.toCsv(report);
  }
}

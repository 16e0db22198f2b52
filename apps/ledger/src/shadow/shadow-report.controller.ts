import {
  type Principal,
  type ShadowReportQuery,
  type ShadowReportResponse,
  shadowReportQuerySchema,
} from '@deliberate/contracts';
import { Allow, CurrentPrincipal, resolveTenant, ZodQueryPipe } from '@deliberate/http';
import { Controller, Get, Query } from '@nestjs/common';
import { ShadowReportService } from './shadow-report.service';

// Served under /v1/shadow (the gateway forwards it here): the ledger holds both sides' bookings.
@Controller('v1/shadow')
export class ShadowReportController {
  constructor(private readonly reports: ShadowReportService) {}

  @Get('report')
  @Allow('admin', 'auditor', 'platform-admin')
  report(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(shadowReportQuerySchema)) query: ShadowReportQuery,
  ): Promise<ShadowReportResponse> {
    return this.reports.report(resolveTenant(principal, query.tenantId), query);
  }
}

import {
  type DenialList,
  type DenialsQuery,
  denialsQuerySchema,
  type Principal,
} from '@deliberate/contracts';
import { Allow, CurrentPrincipal, resolveTenant, ZodQueryPipe } from '@deliberate/http';
import { Controller, Get, Query } from '@nestjs/common';
import { DenialsService } from './denials.service';

@Controller('v1/ledger')
export class DenialsController {
  constructor(private readonly denials: DenialsService) {}

  // Who may read spend may read what was refused; scoped to the caller's tenant as the spend report is.
  @Get('denials')
  @Allow('admin', 'auditor', 'platform-admin')
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(denialsQuerySchema)) query: DenialsQuery,
  ): Promise<DenialList> {
    return this.denials.list(resolveTenant(principal, query.tenantId, true), query);
  }
}

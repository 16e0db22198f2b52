import { type BudgetResponse, type Principal, putBudgetRequestSchema } from '@deliberate/contracts';
import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import type { z } from 'zod';
import { Allow, CurrentPrincipal, resolveTenant, ZodBodyPipe, ZodQueryPipe } from '@deliberate/http';
import { tenantQuerySchema } from '../spend/spend-query';
import { BudgetsService } from './budgets.service';

@Controller('v1/ledger/budgets')
export class BudgetsController {
  constructor(private readonly budgets: BudgetsService) {}

  @Get()
  @Allow('admin', 'auditor', 'platform-admin')
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: z.output<typeof tenantQuerySchema>,
  ): Promise<{ tenantId: string; budgets: BudgetResponse[] }> {
    const tenantId = resolveTenant(principal, query.tenantId);
    return { tenantId, budgets: await this.budgets.list(tenantId) };
  }

  @Put()
  @Allow('admin', 'platform-admin')
  put(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: z.output<typeof tenantQuerySchema>,
    @Body(new ZodBodyPipe(putBudgetRequestSchema)) body: z.output<typeof putBudgetRequestSchema>,
  ): Promise<BudgetResponse> {
    return this.budgets.put(resolveTenant(principal, query.tenantId), body);
  }
}

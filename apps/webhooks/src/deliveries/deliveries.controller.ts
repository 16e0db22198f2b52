import {
  type Principal,
  replayWebhooksRequestSchema,
  webhookDeliveriesQuerySchema,
  type WebhookDeliveryDetailResponse,
  type WebhookDeliveryResponse,
  webhookMessageIdSchema,
} from '@deliberate/contracts';
import {
  Allow,
  CurrentPrincipal,
  parseOrBadRequest,
  resolveTenant,
  ZodBodyPipe,
  ZodQueryPipe,
} from '@deliberate/http';
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import type { z } from 'zod';
import { tenantQuerySchema, type TenantQuery } from '../endpoints/tenant-query';
import { DeliveriesService } from './deliveries.service';

const messageId = (id: string) => parseOrBadRequest(webhookMessageIdSchema, id, 'delivery id');

@Controller('v1/webhooks')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get('deliveries')
  @Allow('admin', 'auditor', 'platform-admin')
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(webhookDeliveriesQuerySchema))
    query: z.output<typeof webhookDeliveriesQuerySchema>,
  ): Promise<{ tenantId: string; deliveries: WebhookDeliveryResponse[]; nextCursor: string | null }> {
    const tenantId = resolveTenant(principal, query.tenantId);
    return { tenantId, ...(await this.deliveries.list(tenantId, query)) };
  }

  @Get('deliveries/:id')
  @Allow('admin', 'auditor', 'platform-admin')
  get(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Param('id') id: string,
  ): Promise<WebhookDeliveryDetailResponse> {
    return this.deliveries.get(resolveTenant(principal, query.tenantId), messageId(id));
  }

  @Post('deliveries/:id/replay')
  @HttpCode(202)
  @Allow('admin', 'platform-admin')
  replay(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Param('id') id: string,
  ): Promise<WebhookDeliveryResponse> {
    return this.deliveries.replay(resolveTenant(principal, query.tenantId), messageId(id));
  }

  @Post('replay')
  @HttpCode(202)
  @Allow('admin', 'platform-admin')
  replayRange(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Body(new ZodBodyPipe(replayWebhooksRequestSchema)) body: z.output<typeof replayWebhooksRequestSchema>,
  ): Promise<{ replayed: number }> {
    return this.deliveries.replayRange(resolveTenant(principal, query.tenantId), body);
  }
}

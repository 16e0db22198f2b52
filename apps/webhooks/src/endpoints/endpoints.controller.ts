import {
  createWebhookEndpointRequestSchema,
  type Principal,
  rotateWebhookSecretRequestSchema,
  updateWebhookEndpointRequestSchema,
  type WebhookEndpointResponse,
  type WebhookEndpointWithSecretResponse,
} from '@deliberate/contracts';
import { Allow, CurrentPrincipal, resolveTenant, ZodBodyPipe, ZodQueryPipe } from '@deliberate/http';
import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import type { z } from 'zod';
import { EndpointsService } from './endpoints.service';
import { tenantQuerySchema, type TenantQuery, uuidParam } from './tenant-query';

@Controller('v1/webhooks/endpoints')
export class EndpointsController {
  constructor(private readonly endpoints: EndpointsService) {}

  @Post()
  @Allow('admin', 'platform-admin')
  create(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Body(new ZodBodyPipe(createWebhookEndpointRequestSchema))
    body: z.output<typeof createWebhookEndpointRequestSchema>,
  ): Promise<WebhookEndpointWithSecretResponse> {
    return this.endpoints.create(resolveTenant(principal, query.tenantId), body, principal);
  }

  @Get()
  @Allow('admin', 'auditor', 'platform-admin')
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
  ): Promise<{ tenantId: string; endpoints: WebhookEndpointResponse[] }> {
    const tenantId = resolveTenant(principal, query.tenantId);
    return { tenantId, endpoints: await this.endpoints.list(tenantId) };
  }

  @Get(':id')
  @Allow('admin', 'auditor', 'platform-admin')
  get(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Param('id', uuidParam) id: string,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.get(resolveTenant(principal, query.tenantId), id);
  }

  @Patch(':id')
  @Allow('admin', 'platform-admin')
  update(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Param('id', uuidParam) id: string,
    @Body(new ZodBodyPipe(updateWebhookEndpointRequestSchema))
    body: z.output<typeof updateWebhookEndpointRequestSchema>,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.update(resolveTenant(principal, query.tenantId), id, body);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @Allow('admin', 'platform-admin')
  rotate(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Param('id', uuidParam) id: string,
    @Body(new ZodBodyPipe(rotateWebhookSecretRequestSchema, { optional: true }))
    body: z.output<typeof rotateWebhookSecretRequestSchema> | undefined,
  ): Promise<WebhookEndpointWithSecretResponse> {
    return this.endpoints.rotateSecret(resolveTenant(principal, query.tenantId), id, body?.overlapSeconds);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @Allow('admin', 'platform-admin')
  disable(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Param('id', uuidParam) id: string,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.disable(resolveTenant(principal, query.tenantId), id);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @Allow('admin', 'platform-admin')
  enable(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Param('id', uuidParam) id: string,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.enable(resolveTenant(principal, query.tenantId), id);
  }
}

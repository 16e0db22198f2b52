import {
  type ApiKeyResponse,
  type CreatedApiKeyResponse,
  createApiKeyRequestSchema,
  createTenantRequestSchema,
  type CreateApiKeyRequest,
  type CreateTenantRequest,
  type PatchTenantRequest,
  patchTenantRequestSchema,
  type TenantResponse,
  UUID_PATTERN,
} from '@deliberate/contracts';
import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  NotFoundException,
  Param,
  Patch,
  Post,
} from '@nestjs/common';
import { Allow, CurrentPrincipal, ZodBodyPipe } from '@deliberate/http';
import { AuthService } from './auth.service';
import type { Principal } from './principal';

// The platform admin manages every tenant; a tenant's `admin` key manages its own tenant's keys.
function assertManages(principal: Principal, tenantId: string): void {
  if (principal.kind === 'platform-admin') return;
  if (principal.kind !== 'tenant' || principal.tenantId !== tenantId)
    throw new NotFoundException(`tenant '${tenantId}' not found`);
}

@Controller('v1/admin/tenants')
export class AdminController {
  constructor(private readonly auth: AuthService) {}

  @Post()
  @Allow('platform-admin')
  createTenant(
    @Body(new ZodBodyPipe(createTenantRequestSchema)) body: CreateTenantRequest,
  ): Promise<TenantResponse> {
    return this.auth.createTenant(body.id, body.name);
  }

  @Get()
  @Allow('platform-admin')
  listTenants(): Promise<TenantResponse[]> {
    return this.auth.listTenants();
  }

  // Only the platform admin sets quotas: a tenant's own admin key must not raise its tenant's limits.
  @Patch(':tenantId')
  @Allow('platform-admin')
  updateTenant(
    @Param('tenantId') tenantId: string,
    @Body(new ZodBodyPipe(patchTenantRequestSchema)) body: PatchTenantRequest,
  ): Promise<TenantResponse> {
    return this.auth.updateTenantQuotas(tenantId, body.quotas);
  }

  @Post(':tenantId/api-keys')
  @Allow('platform-admin', 'admin')
  createApiKey(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId') tenantId: string,
    @Body(new ZodBodyPipe(createApiKeyRequestSchema)) body: CreateApiKeyRequest,
  ): Promise<CreatedApiKeyResponse> {
    assertManages(principal, tenantId);
    return this.auth.createApiKey(tenantId, body.role, body.name ?? null);
  }

  @Get(':tenantId/api-keys')
  @Allow('platform-admin', 'admin')
  listApiKeys(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId') tenantId: string,
  ): Promise<ApiKeyResponse[]> {
    assertManages(principal, tenantId);
    return this.auth.listApiKeys(tenantId);
  }

  @Delete(':tenantId/api-keys/:keyId')
  @Allow('platform-admin', 'admin')
  revokeApiKey(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId') tenantId: string,
    @Param('keyId') keyId: string,
  ): Promise<ApiKeyResponse> {
    assertManages(principal, tenantId);
    if (!UUID_PATTERN.test(keyId))
      throw new NotFoundException(`API key '${keyId}' not found for tenant '${tenantId}'`);
    if (principal.kind === 'tenant' && principal.keyId === keyId) {
      throw new ForbiddenException('a key cannot revoke itself; use another admin key');
    }
    return this.auth.revokeApiKey(tenantId, keyId);
  }
}

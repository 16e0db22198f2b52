import {
  type IntakeSecretResponse,
  type IntakeSecretWithSecretResponse,
  type IssueIntakeSecretRequest,
  issueIntakeSecretRequestSchema,
  UUID_PATTERN,
} from '@deliberate/contracts';
import { Allow, CurrentPrincipal, ZodBodyPipe } from '@deliberate/http';
import { Body, Controller, Delete, Get, NotFoundException, Param, Post } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { IntakeSecretService } from './intake-secret.service';

// The platform admin manages every tenant's intake secrets; a tenant's `admin` key its own tenant's. Another
// tenant is answered as if it did not exist.
function assertManages(principal: Principal, tenantId: string): void {
  if (principal.kind === 'platform-admin') return;
  if (principal.kind !== 'tenant' || principal.tenantId !== tenantId)
    throw new NotFoundException(`tenant '${tenantId}' not found`);
}

@Controller('v1/admin/tenants/:tenantId/intake-secrets')
export class IntakeSecretsController {
  constructor(private readonly secrets: IntakeSecretService) {}

  /** Issues a secret, shown once; the tenant's current secrets stay valid for the overlap (a rotation). */
  @Post()
  @Allow('platform-admin', 'admin')
  issue(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId') tenantId: string,
    @Body(new ZodBodyPipe(issueIntakeSecretRequestSchema, { optional: true }))
    body: IssueIntakeSecretRequest | undefined,
  ): Promise<IntakeSecretWithSecretResponse> {
    assertManages(principal, tenantId);
    return this.secrets.issue(tenantId, body?.overlapSeconds);
  }

  @Get()
  @Allow('platform-admin', 'admin')
  list(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId') tenantId: string,
  ): Promise<IntakeSecretResponse[]> {
    assertManages(principal, tenantId);
    return this.secrets.list(tenantId);
  }

  @Delete(':secretId')
  @Allow('platform-admin', 'admin')
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId') tenantId: string,
    @Param('secretId') secretId: string,
  ): Promise<IntakeSecretResponse> {
    assertManages(principal, tenantId);
    if (!UUID_PATTERN.test(secretId))
      throw new NotFoundException(`intake secret '${secretId}' not found for tenant '${tenantId}'`);
    return this.secrets.revoke(tenantId, secretId);
  }
}

import { type TenantPolicy, type TenantPolicyResponse, tenantPolicySchema } from '@deliberate/contracts';
import { Allow, CurrentPrincipal, RequestValidationException, ZodBodyPipe } from '@deliberate/http';
import { Body, Controller, ForbiddenException, Get, Headers, Param, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Principal } from '../auth/principal';
import { changedBy, PolicyService } from './policy.service';

// A tenant's admin key reads and sets its own tenant's policy at /v1/policy; the platform admin any tenant's at
// /v1/admin/tenants/:tenantId/policy. The version is the ETag; If-Match: "<version>" makes a PUT conditional.

/** The version an If-Match header names; null without one. */
export function expectedVersion(ifMatch: string | undefined): number | null {
  if (ifMatch === undefined) return null;
  // An entity tag is quoted on both sides or not at all (a bare version is accepted too): one quote is malformed.
  const match = /^\s*(?:W\/)?(?:"(\d{1,9})"|(\d{1,9}))\s*$/.exec(ifMatch);
  if (!match)
    throw new RequestValidationException('If-Match header', [
      { path: 'If-Match', message: 'expected the policy\'s version as an entity tag, e.g. "3"' },
    ]);
  return Number(match[1] ?? match[2]);
}

function withETag(res: Response, answer: TenantPolicyResponse): TenantPolicyResponse {
  res.setHeader('ETag', `"${answer.version}"`);
  return answer;
}

function tenantOf(principal: Principal): string {
  if (principal.kind !== 'tenant') {
    throw new ForbiddenException(
      "the platform admin sets a tenant's policy at /v1/admin/tenants/{tenantId}/policy",
    );
  }
  return principal.tenantId;
}

@Controller('v1/policy')
export class PolicyController {
  constructor(private readonly policies: PolicyService) {}

  @Get()
  @Allow('admin')
  async get(
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TenantPolicyResponse> {
    return withETag(res, await this.policies.get(tenantOf(principal)));
  }

  @Put()
  @Allow('admin')
  async put(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodBodyPipe(tenantPolicySchema)) policy: TenantPolicy,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TenantPolicyResponse> {
    const answer = await this.policies.put(
      tenantOf(principal),
      policy,
      changedBy(principal),
      expectedVersion(ifMatch),
    );
    return withETag(res, answer);
  }
}

@Controller('v1/admin/tenants/:tenantId/policy')
export class AdminPolicyController {
  constructor(private readonly policies: PolicyService) {}

  @Get()
  @Allow('platform-admin')
  async get(
    @Param('tenantId') tenantId: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TenantPolicyResponse> {
    return withETag(res, await this.policies.get(tenantId));
  }

  @Put()
  @Allow('platform-admin')
  async put(
    @CurrentPrincipal() principal: Principal,
    @Param('tenantId') tenantId: string,
    @Body(new ZodBodyPipe(tenantPolicySchema)) policy: TenantPolicy,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TenantPolicyResponse> {
    const answer = await this.policies.put(tenantId, policy, changedBy(principal), expectedVersion(ifMatch));
    return withETag(res, answer);
  }
}

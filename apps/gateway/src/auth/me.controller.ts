import type { MeResponse } from '@deliberate/contracts';
import { Controller, Get } from '@nestjs/common';
import { Allow, CurrentPrincipal } from '@deliberate/http';
import type { Principal } from './principal';

/** Who a key is, without its secret or limits: a client (the console) shows what the key may do. */
export function describeCaller(principal: Principal): MeResponse {
  switch (principal.kind) {
    case 'tenant':
      return { kind: 'tenant', tenantId: principal.tenantId, role: principal.role, keyId: principal.keyId };
    case 'platform-admin':
    case 'platform-auditor':
      return { kind: principal.kind };
  }
}

@Controller('v1/me')
export class MeController {
  @Get()
  @Allow('submitter', 'auditor', 'admin', 'reviewer', 'platform-admin', 'platform-auditor')
  me(@CurrentPrincipal() principal: Principal): MeResponse {
    return describeCaller(principal);
  }
}

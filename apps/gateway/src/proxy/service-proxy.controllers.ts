import { All, Controller, Inject, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Allow, CurrentPrincipal } from '../auth/api-key.guard';
import type { Principal } from '../auth/principal';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { forwardToService } from './service-proxy';

// Each service decides per route which of the allowed principals may do what; the gateway only refuses those
// that no route of the service would accept.

@Controller('v1/ledger')
export class LedgerProxyController {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  @All('*path')
  @Allow('admin', 'auditor', 'platform-admin')
  forward(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response) {
    const service = {
      name: 'ledger',
      baseUrl: this.config.GATEWAY_LEDGER_URL,
      token: this.config.LEDGER_INTERNAL_TOKEN,
      tokenVariable: 'LEDGER_INTERNAL_TOKEN',
    };
    return forwardToService(service, principal, req, res);
  }
}

@Controller('v1/webhooks')
export class WebhooksProxyController {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  @All('*path')
  @Allow('admin', 'auditor', 'platform-admin')
  forward(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response) {
    const service = {
      name: 'webhooks',
      baseUrl: this.config.GATEWAY_WEBHOOKS_URL,
      token: this.config.WEBHOOKS_INTERNAL_TOKEN,
      tokenVariable: 'WEBHOOKS_INTERNAL_TOKEN',
    };
    return forwardToService(service, principal, req, res);
  }
}

@Controller('v1/audit')
export class AuditProxyController {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  @All('*path')
  @Allow('auditor', 'platform-auditor')
  forward(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response) {
    const service = {
      name: 'audit',
      baseUrl: this.config.GATEWAY_AUDIT_URL,
      token: this.config.AUDIT_INTERNAL_TOKEN,
      tokenVariable: 'AUDIT_INTERNAL_TOKEN',
    };
    return forwardToService(service, principal, req, res);
  }
}

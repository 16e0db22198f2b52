import { All, Controller, Inject, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Allow, CurrentPrincipal } from '@deliberate/http';
import type { Principal } from '../auth/principal';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { forwardToService, type ProxiedService } from './service-proxy';

// Each service decides per route which of the allowed principals may do what; the gateway only refuses those
// that no route of the service would accept.

function service(
  config: GatewayConfig,
  name: string,
  baseUrl: string,
  key: string | undefined,
  keyVariable: string,
  routePrefix = `/v1/${name}`,
): ProxiedService {
  return {
    name,
    baseUrl,
    routePrefix,
    key,
    keyVariable,
    principalTtlSeconds: config.GATEWAY_PRINCIPAL_TTL_SECONDS,
    idleTimeoutMs: config.GATEWAY_PROXY_IDLE_TIMEOUT_MS,
  };
}

@Controller('v1/ledger')
export class LedgerProxyController {
  private readonly service: ProxiedService;
  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.service = service(
      config,
      'ledger',
      config.GATEWAY_LEDGER_URL,
      config.LEDGER_INTERNAL_TOKEN,
      'LEDGER_INTERNAL_TOKEN',
    );
  }

  @All('*path')
  @Allow('admin', 'auditor', 'platform-admin')
  forward(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response) {
    return forwardToService(this.service, principal, req, res);
  }
}

// The shadow report is the ledger's: it prices both sides of each comparison from its bookings.
@Controller('v1/shadow')
export class ShadowProxyController {
  private readonly service: ProxiedService;
  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.service = service(
      config,
      'ledger',
      config.GATEWAY_LEDGER_URL,
      config.LEDGER_INTERNAL_TOKEN,
      'LEDGER_INTERNAL_TOKEN',
      '/v1/shadow',
    );
  }

  @All('*path')
  @Allow('admin', 'auditor', 'platform-admin')
  forward(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response) {
    return forwardToService(this.service, principal, req, res);
  }
}

@Controller('v1/webhooks')
export class WebhooksProxyController {
  private readonly service: ProxiedService;
  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.service = service(
      config,
      'webhooks',
      config.GATEWAY_WEBHOOKS_URL,
      config.WEBHOOKS_INTERNAL_TOKEN,
      'WEBHOOKS_INTERNAL_TOKEN',
    );
  }

  @All('*path')
  @Allow('admin', 'auditor', 'platform-admin')
  forward(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response) {
    return forwardToService(this.service, principal, req, res);
  }
}

@Controller('v1/audit')
export class AuditProxyController {
  private readonly service: ProxiedService;
  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.service = service(
      config,
      'audit',
      config.GATEWAY_AUDIT_URL,
      config.AUDIT_INTERNAL_TOKEN,
      'AUDIT_INTERNAL_TOKEN',
    );
  }

  // Reviewers reach one audit route only (a waiting task's timeline); the audit service refuses them the rest.
  @All('*path')
  @Allow('auditor', 'platform-auditor', 'reviewer')
  forward(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Res() res: Response) {
    return forwardToService(this.service, principal, req, res);
  }
}

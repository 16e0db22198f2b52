import {
  All,
  Controller,
  Inject,
  Req,
  Res,
  ServiceUnavailableException,
  BadGatewayException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { Allow, CurrentPrincipal } from '../auth/api-key.guard';
import type { Principal } from '../auth/principal';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';

const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-disposition', 'retry-after'];

// The gateway owns API keys; the ledger owns money. Ledger routes are authenticated here and forwarded with the
// caller's identity and a shared internal token, so the ledger never reads the gateway's tables.
@Controller('v1/ledger')
export class LedgerProxyController {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  @All('*path')
  @Allow('admin', 'auditor', 'platform-admin')
  async forward(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const token = this.config.LEDGER_INTERNAL_TOKEN;
    if (!token)
      throw new ServiceUnavailableException(
        'the ledger API is not configured (LEDGER_INTERNAL_TOKEN is unset)',
      );
    const target = new URL(req.originalUrl, this.config.GATEWAY_LEDGER_URL);
    const hasBody = !['GET', 'HEAD'].includes(req.method) && req.body !== undefined;
    let upstream: globalThis.Response;
    try {
      upstream = await fetch(target, {
        method: req.method,
        headers: {
          accept: req.headers.accept ?? 'application/json',
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
          'x-deliberate-internal-token': token,
          'x-deliberate-principal': JSON.stringify(principal),
        },
        ...(hasBody ? { body: JSON.stringify(req.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new BadGatewayException(`the ledger did not answer: ${(e as Error).message}`);
    }
    res.status(upstream.status);
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value) res.setHeader(name, value);
    }
    res.send(Buffer.from(await upstream.arrayBuffer()));
  }
}

import { INTERNAL_TOKEN_HEADER, PRINCIPAL_HEADER } from '@deliberate/contracts';
import { BadGatewayException, ServiceUnavailableException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Principal } from '../auth/principal';

const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-disposition', 'retry-after', 'link'];

export interface ProxiedService {
  readonly name: string;
  readonly baseUrl: string;
  readonly token: string | undefined;
  /** The environment variable that holds the token, named when it is missing. */
  readonly tokenVariable: string;
}

// The gateway owns API keys; the ledger, webhooks and audit services own their data. Their routes are
// authenticated here and forwarded with the caller's identity and a shared internal token, so no service reads
// the gateway's tables. Bodies stream through unchanged, so exports of any size pass without buffering.
export async function forwardToService(
  service: ProxiedService,
  principal: Principal,
  req: Request,
  res: Response,
): Promise<void> {
  if (!service.token) {
    throw new ServiceUnavailableException(
      `the ${service.name} API is not configured (${service.tokenVariable} is unset)`,
    );
  }
  const target = new URL(req.originalUrl, service.baseUrl);
  const hasBody = !['GET', 'HEAD'].includes(req.method) && req.body !== undefined;
  let upstream: globalThis.Response;
  try {
    upstream = await fetch(target, {
      method: req.method,
      headers: {
        accept: req.headers.accept ?? 'application/json',
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        [INTERNAL_TOKEN_HEADER]: service.token,
        [PRINCIPAL_HEADER]: JSON.stringify(principal),
      },
      ...(hasBody ? { body: JSON.stringify(req.body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new BadGatewayException(`the ${service.name} service did not answer: ${(e as Error).message}`);
  }
  res.status(upstream.status);
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value) res.setHeader(name, value);
  }
  if (!upstream.body) {
    res.end();
    return;
  }
  for await (const chunk of upstream.body) res.write(chunk);
  res.end();
}

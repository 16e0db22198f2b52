import { PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, signPrincipal } from '@deliberate/contracts';
import { checkRequestTarget } from '@deliberate/http';
import {
  BadGatewayException,
  BadRequestException,
  GatewayTimeoutException,
  HttpException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { Principal } from '../auth/principal';

const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-disposition', 'retry-after', 'link'];

export interface ProxiedService {
  readonly name: string;
  readonly baseUrl: string;
  /** The gateway route this service answers under, e.g. `/v1/audit`; nothing outside it is forwarded. */
  readonly routePrefix: string;
  /** The key the principal is signed with for this service; the service holds the same one. */
  readonly key: string | undefined;
  /** The environment variable that holds the key, named when it is missing. */
  readonly keyVariable: string;
  /** How long a signed principal stays valid, in seconds. */
  readonly principalTtlSeconds: number;
  /** How long the service may stay silent (no headers, no body bytes) before the gateway gives up. */
  readonly idleTimeoutMs: number;
}

/**
 * Where a request goes: the configured base URL plus the route's path and query, nothing else. The request target
 * was already checked at the edge; it is checked again here because this is where it would do harm.
 */
export function upstreamUrl(service: ProxiedService, originalUrl: string): URL {
  const check = checkRequestTarget(originalUrl);
  if (!check.ok) throw new BadRequestException(check.reason);
  const { path, search } = check.target;
  if (path !== service.routePrefix && !path.startsWith(`${service.routePrefix}/`)) {
    throw new BadRequestException(`${path} is not a ${service.name} route`);
  }
  const url = new URL(service.baseUrl);
  url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
  url.search = search;
  return url;
}

// The gateway owns API keys; the ledger, webhooks and audit services own their data. Their routes are
// authenticated here and forwarded with the caller's identity, signed with the service's key over this exact
// request and a near expiry, so no service reads the gateway's tables and no header can be reused elsewhere. Responses stream through with backpressure, so exports of any size and length pass: the
// only time limit is on silence.
export async function forwardToService(
  service: ProxiedService,
  principal: Principal,
  req: Request,
  res: Response,
): Promise<void> {
  if (!service.key) {
    throw new ServiceUnavailableException(
      `the ${service.name} API is not configured (${service.keyVariable} is unset)`,
    );
  }
  const target = upstreamUrl(service, req.originalUrl);
  const hasBody = !['GET', 'HEAD'].includes(req.method) && req.body !== undefined;
  const body = hasBody ? Buffer.from(JSON.stringify(req.body)) : undefined;
  const principalHeader = JSON.stringify(principal);
  // Signed over what goes on the wire: http.request sends the URL's pathname and search as they are here.
  const signature = signPrincipal(
    service.key,
    {
      service: service.name,
      method: req.method,
      path: target.pathname,
      query: target.search.slice(1),
      body,
      principal: principalHeader,
    },
    Math.floor(Date.now() / 1000) + service.principalTtlSeconds,
  );
  const upstream = await openUpstream(service, target, {
    method: req.method,
    headers: {
      accept: req.headers.accept ?? 'application/json',
      ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
      [PRINCIPAL_HEADER]: principalHeader,
      [PRINCIPAL_SIGNATURE_HEADER]: signature,
    },
    body,
  });
  res.status(upstream.statusCode ?? 502);
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers[name];
    if (value) res.setHeader(name, value);
  }
  // A client that goes away ends the upstream request too; a service that goes silent mid-body ends the response.
  await pipeline(upstream, res).catch(() => {
    upstream.destroy();
    res.destroy();
  });
}

function openUpstream(
  service: ProxiedService,
  target: URL,
  options: { method: string; headers: Record<string, string>; body: Buffer | undefined },
): Promise<IncomingMessage> {
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(target, { method: options.method, headers: options.headers }, resolve);
    // An idle timeout, not a total one: it restarts with every byte the service sends.
    outgoing.setTimeout(service.idleTimeoutMs, () => {
      outgoing.destroy(
        new GatewayTimeoutException(
          `the ${service.name} service sent nothing for ${service.idleTimeoutMs} ms`,
        ),
      );
    });
    outgoing.on('error', (e) => {
      reject(
        e instanceof HttpException
          ? e
          : new BadGatewayException(`the ${service.name} service did not answer: ${e.message}`),
      );
    });
    outgoing.end(options.body);
  });
}

import {
  describePrincipal,
  type Principal,
  PRINCIPAL_HEADER,
  PRINCIPAL_SIGNATURE_HEADER,
  principalSchema,
  splitRequestTarget,
  verifyPrincipalSignature,
} from '@deliberate/contracts';
import {
  BadRequestException,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from './access-decision';
import { AccessGuard } from './access.guard';
import type { RequestWithRawBody } from './json-body-parser';
import { SeenSignatures } from './seen-signatures';

/** Provide this with the service's name and the key the gateway signs for it with (unset disables the HTTP API). */
export const INTERNAL_AUTH_OPTIONS = Symbol('INTERNAL_AUTH_OPTIONS');
export interface InternalAuthOptions {
  /** `ledger`, `webhooks` or `audit`: a signature made for another service is refused. */
  readonly service: string;
  readonly key: string | undefined;
  /** The environment variable that holds the key, named in errors. */
  readonly keyVariable: string;
}

// A service behind the gateway: the gateway authenticates API keys and forwards who called. The principal is
// believed only with the gateway's signature over this very request (method, path, query, body bytes) for this
// service, before its expiry, and only once: a signature already accepted by this instance is a replay.
@Injectable()
export class InternalAuthGuard extends AccessGuard {
  private readonly seen = new SeenSignatures();

  constructor(
    reflector: Reflector,
    @Inject(INTERNAL_AUTH_OPTIONS) private readonly options: InternalAuthOptions,
  ) {
    super(reflector);
  }

  protected authenticate(req: AuthenticatedRequest & RequestWithRawBody): Principal {
    const { service, key, keyVariable } = this.options;
    if (!key)
      throw new UnauthorizedException(`the ${service} HTTP API is disabled: ${keyVariable} is not set`);
    const principal = req.headers[PRINCIPAL_HEADER];
    if (typeof principal !== 'string') throw new UnauthorizedException(`missing ${PRINCIPAL_HEADER} header`);
    const signature = req.headers[PRINCIPAL_SIGNATURE_HEADER];
    const nowSeconds = Math.floor(Date.now() / 1000);
    const check = verifyPrincipalSignature(
      key,
      { service, method: req.method, ...splitRequestTarget(req.originalUrl), body: req.rawBody, principal },
      typeof signature === 'string' ? signature : undefined,
      nowSeconds,
    );
    if (!check.ok)
      throw new UnauthorizedException(`${check.reason}: the ${service} answers only the gateway`);
    if (!this.seen.firstUse(check.nonce, check.expiresAtSeconds, nowSeconds)) {
      throw new UnauthorizedException(`${PRINCIPAL_SIGNATURE_HEADER} was already used: a replayed request`);
    }
    return parsePrincipal(principal);
  }
}

function parsePrincipal(header: string): Principal {
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    throw new UnauthorizedException(`${PRINCIPAL_HEADER} is not JSON`);
  }
  const parsed = principalSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new UnauthorizedException(`invalid ${PRINCIPAL_HEADER}: ${issues}`);
  }
  return parsed.data;
}

/**
 * The tenant a request is about. A tenant principal sees only its own tenant; a platform principal picks one with
 * `?tenantId=`, or (when `optional`) sees every tenant.
 */
export function resolveTenant(
  principal: Principal,
  requested: string | undefined,
  optional: true,
): string | null;
export function resolveTenant(principal: Principal, requested: string | undefined, optional?: false): string;
export function resolveTenant(
  principal: Principal,
  requested: string | undefined,
  optional = false,
): string | null {
  if (principal.kind === 'tenant') {
    if (requested !== undefined && requested !== principal.tenantId) {
      throw new ForbiddenException(
        `a key of tenant '${principal.tenantId}' cannot see tenant '${requested}'`,
      );
    }
    return principal.tenantId;
  }
  if (requested !== undefined) return requested;
  if (optional) return null;
  throw new BadRequestException(
    `tenantId: ${describePrincipal(principal)} must name a tenant (?tenantId=...)`,
  );
}

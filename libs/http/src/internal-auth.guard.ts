import {
  type Access,
  describePrincipal,
  INTERNAL_TOKEN_HEADER,
  type Principal,
  PRINCIPAL_HEADER,
  principalMayAccess,
  principalSchema,
} from '@deliberate/contracts';
import {
  BadRequestException,
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';

const ACCESS = 'deliberate:internal-access';

/** Who may call a handler behind the gateway. Handlers without it are public (health). */
export const Allow = (...access: Access[]) => SetMetadata(ACCESS, access);

/** Provide this token with the service's name and its shared internal token (unset disables the HTTP API). */
export const INTERNAL_AUTH_OPTIONS = Symbol('INTERNAL_AUTH_OPTIONS');
export interface InternalAuthOptions {
  readonly service: string;
  readonly token: string | undefined;
  /** The environment variable that holds the token, named in errors. */
  readonly tokenVariable: string;
}

type AuthenticatedRequest = Request & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new UnauthorizedException('not authenticated');
  return principal;
});

const digest = (value: string) => createHash('sha256').update(value).digest();

// A service behind the gateway: the gateway authenticates API keys and forwards who called. The principal is
// believed only with the shared internal token, compared in constant time.
@Injectable()
export class InternalAuthGuard implements CanActivate {
  private readonly expectedToken: Buffer | null;

  constructor(
    private readonly reflector: Reflector,
    @Inject(INTERNAL_AUTH_OPTIONS) private readonly options: InternalAuthOptions,
  ) {
    this.expectedToken = options.token ? digest(options.token) : null;
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true; // Kafka handlers: the broker is the boundary
    const access = this.reflector.getAllAndOverride<Access[] | undefined>(ACCESS, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!access) return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const { service, tokenVariable } = this.options;
    if (!this.expectedToken) {
      throw new UnauthorizedException(`the ${service} HTTP API is disabled: ${tokenVariable} is not set`);
    }
    const token = req.headers[INTERNAL_TOKEN_HEADER];
    if (typeof token !== 'string' || !timingSafeEqual(digest(token), this.expectedToken)) {
      throw new UnauthorizedException(
        `missing or wrong ${INTERNAL_TOKEN_HEADER}: the ${service} answers only the gateway`,
      );
    }
    const principal = parsePrincipal(req.headers[PRINCIPAL_HEADER]);
    req.principal = principal;
    if (!principalMayAccess(principal, access)) {
      throw new ForbiddenException(
        `${describePrincipal(principal)} may not call this endpoint (allowed: ${access.join(', ')})`,
      );
    }
    return true;
  }
}

function parsePrincipal(header: string | string[] | undefined): Principal {
  if (typeof header !== 'string') throw new UnauthorizedException(`missing ${PRINCIPAL_HEADER} header`);
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

import { type Access, describePrincipal, principalMayAccess } from '@deliberate/contracts';
import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { TooManyRequestsException } from '@deliberate/http';
import type { Principal } from './principal';
import { RequestAuthenticator } from './request-authenticator';

const ACCESS = 'deliberate:access';
const PUBLIC = 'deliberate:public';

/** Who may call a handler: tenant roles, and/or the platform admin. */
export const Allow = (...access: Access[]) => SetMetadata(ACCESS, access);

/** A handler anyone may call without a key (health, docs). Every handler carries this or `@Allow`. */
export const Public = () => SetMetadata(PUBLIC, true);

/** The access decision a handler (or its controller) carries: its roles, 'public', or none (refused). */
export function accessDecisionOf(
  reflector: Reflector,
  targets: Parameters<Reflector['getAllAndOverride']>[1],
): Access[] | 'public' | undefined {
  if (reflector.getAllAndOverride<boolean | undefined>(PUBLIC, targets)) return 'public';
  return reflector.getAllAndOverride<Access[] | undefined>(ACCESS, targets);
}

type AuthenticatedRequest = Request & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new UnauthorizedException('not authenticated');
  return principal;
});

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly authenticator: RequestAuthenticator,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true; // Kafka consumers are not routes
    const access = accessDecisionOf(this.reflector, [ctx.getHandler(), ctx.getClass()]);
    if (access === 'public') return true;
    // A route nobody decided about is refused, not opened (and a test names it).
    if (!access) throw new ForbiddenException('this endpoint has no access rule');
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const authentication = await this.authenticator.authenticate(req);
    switch (authentication.outcome) {
      case 'anonymous':
        throw new UnauthorizedException(
          'missing Authorization header: send "Authorization: Bearer <api key>"',
        );
      case 'refused':
        throw new UnauthorizedException(authentication.message);
      case 'limited':
        throw new TooManyRequestsException(authentication.message, authentication.retryAfterSeconds);
      case 'authenticated':
        break;
    }
    const { principal } = authentication;
    req.principal = principal;
    if (!principalMayAccess(principal, access)) {
      throw new ForbiddenException(
        `${describePrincipal(principal)} may not call this endpoint (allowed: ${access.join(', ')})`,
      );
    }
    return true;
  }
}

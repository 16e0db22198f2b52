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
import { AuthService } from './auth.service';
import type { Principal } from './principal';

const ACCESS = 'deliberate:access';

/** Who may call a handler: tenant roles, and/or the platform admin. */
export const Allow = (...access: Access[]) => SetMetadata(ACCESS, access);

type AuthenticatedRequest = Request & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new UnauthorizedException('not authenticated');
  return principal;
});

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access[] | undefined>(ACCESS, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!access) return true; // public route
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = req.headers.authorization;
    if (!header)
      throw new UnauthorizedException('missing Authorization header: send "Authorization: Bearer <api key>"');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match)
      throw new UnauthorizedException('malformed Authorization header: expected "Bearer <api key>"');
    const principal = await this.auth.authenticate(match[1]!);
    if (!principal) throw new UnauthorizedException('unknown or revoked API key');
    req.principal = principal;
    if (!principalMayAccess(principal, access)) {
      throw new ForbiddenException(
        `${describePrincipal(principal)} may not call this endpoint (allowed: ${access.join(', ')})`,
      );
    }
    return true;
  }
}

import { describePrincipal, type Principal, principalMayAccess } from '@deliberate/contracts';
import { type CanActivate, type ExecutionContext, ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { accessDecisionOf, type AuthenticatedRequest } from './access-decision';

// What every guard does with a route's access decision; a guard only says how it learns who is calling (an API
// key at the gateway, the gateway's signed principal behind it). A route that decided nothing is refused, not opened.
export abstract class AccessGuard implements CanActivate {
  protected constructor(private readonly reflector: Reflector) {}

  /** Who is calling, or an HTTP error (401, 429) saying why nobody is. */
  protected abstract authenticate(req: AuthenticatedRequest): Principal | Promise<Principal>;

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true; // Kafka handlers: the broker is the boundary
    const access = accessDecisionOf(this.reflector, [ctx.getHandler(), ctx.getClass()]);
    if (access === 'public') return true;
    // A test names every route without a decision; this refuses one that slipped through.
    if (!access) throw new ForbiddenException('this endpoint has no access rule');
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = await this.authenticate(req);
    req.principal = principal;
    if (!principalMayAccess(principal, access)) {
      throw new ForbiddenException(
        `${describePrincipal(principal)} may not call this endpoint (allowed: ${access.join(', ')})`,
      );
    }
    return true;
  }
}

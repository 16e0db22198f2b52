import { type Access, type Principal } from '@deliberate/contracts';
import {
  createParamDecorator,
  type ExecutionContext,
  RequestMethod,
  SetMetadata,
  type Type,
  UnauthorizedException,
} from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';

// The one set of access decorators, for the gateway and for the services behind it. Every route says who may call
// it (@Allow) or that anyone may (@Public); the guards refuse a route that says neither.

/** What a route decided: the roles that may call it, or that anyone may. */
export type AccessDecision = readonly Access[] | 'public';

// One key for both decisions: a handler's decision overrides its controller's, whichever kind either is.
const ACCESS_DECISION = 'deliberate:access-decision';

/** Who may call a handler (or every handler of a controller): tenant roles, and/or the platform roles. */
export const Allow = (...access: Access[]) => SetMetadata<string, AccessDecision>(ACCESS_DECISION, access);

/** A handler anyone may call without credentials (health, docs). */
export const Public = () => SetMetadata<string, AccessDecision>(ACCESS_DECISION, 'public');

/** The decision a handler carries, or failing that its controller; undefined when neither decided (refused). */
export function accessDecisionOf(
  reflector: Reflector,
  targets: Parameters<Reflector['getAllAndOverride']>[1],
): AccessDecision | undefined {
  return reflector.getAllAndOverride<AccessDecision | undefined>(ACCESS_DECISION, targets);
}

/** A request a guard has authenticated: `principal` is set before the handler runs. */
export type AuthenticatedRequest = Request & { principal?: Principal };

/** The caller a guard authenticated; only on routes with `@Allow` (a public route has no caller). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new UnauthorizedException('not authenticated');
  return principal;
});

/** "GET /v1/x" for every route handler of the controllers that carries no access decision (Kafka handlers are no routes). */
export function routesWithoutAccessDecision(controllers: readonly Type[]): string[] {
  const reflector = new Reflector();
  const undecided: string[] = [];
  for (const controller of controllers) {
    const prefix = Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined;
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of methodNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (path === undefined) continue; // not a route
      if (accessDecisionOf(reflector, [handler, controller]) !== undefined) continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
      const route = `/${[prefix ?? ''].flat().join(',')}/${[path].flat().join(',')}`
        .replace(/\/+/g, '/')
        .replace(/(.)\/$/, '$1');
      undecided.push(`${RequestMethod[method]} ${route}`);
    }
  }
  return undecided;
}

// Own and inherited: a route declared on a base controller is a route of each subclass.
function methodNames(prototype: object): Set<string> {
  const names = new Set<string>();
  for (let p = prototype; p !== Object.prototype; p = Object.getPrototypeOf(p) as object) {
    for (const name of Object.getOwnPropertyNames(p)) if (name !== 'constructor') names.add(name);
  }
  return names;
}

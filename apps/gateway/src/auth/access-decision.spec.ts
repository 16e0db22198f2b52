import { Controller, Get, Post, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { GatewayModule } from '../app.module';
import { loadGatewayConfig } from '../config';
import { accessDecisionOf, Allow, Public } from './api-key.guard';

// Every route of the gateway says who may call it (@Allow) or that anyone may (@Public). The guard refuses a route
// that says neither; this test names it before anyone calls it.

/** "GET /v1/x" for every route handler of the controllers that carries no access decision. */
function routesWithoutAccessDecision(controllers: readonly Type[]): string[] {
  const reflector = new Reflector();
  const undecided: string[] = [];
  for (const controller of controllers) {
    const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (path === undefined) continue; // not a route
      if (accessDecisionOf(reflector, [handler, controller]) !== undefined) continue;
      const method = Number(Reflect.getMetadata(METHOD_METADATA, handler));
      const route = `/${prefix}/${[path].flat().join(',')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
      undecided.push(`${['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL'][method] ?? method} ${route}`);
    }
  }
  return undecided;
}

@Controller('v1/fixture')
class FixtureController {
  @Get()
  @Allow('admin')
  decided(): string {
    return 'ok';
  }

  @Post('open')
  forgotten(): string {
    return 'ok';
  }
}

@Public()
@Controller('fixture-public')
class PublicFixtureController {
  @Get()
  page(): string {
    return 'ok';
  }
}

describe('access decisions', () => {
  it('finds a route that carries neither @Allow nor @Public', () => {
    expect(routesWithoutAccessDecision([FixtureController, PublicFixtureController])).toEqual([
      'POST /v1/fixture/open',
    ]);
  });

  it('every route of the gateway carries @Allow or @Public', () => {
    const config = loadGatewayConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', KAFKA_BROKERS: 'x:1' });
    const controllers = GatewayModule.forRoot(config).controllers ?? [];
    expect(controllers.length).toBeGreaterThan(5);
    expect(routesWithoutAccessDecision(controllers)).toEqual([]);
  });
});

import { type Principal } from '@deliberate/contracts';
import {
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Get,
  Post,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Allow, type AuthenticatedRequest, Public, routesWithoutAccessDecision } from './access-decision';
import { AccessGuard } from './access.guard';

// A guard that believes an `x-principal` header: the access decision is what is under test, not authentication.
class HeaderGuard extends AccessGuard {
  authentications = 0;

  constructor() {
    super(new Reflector());
  }

  protected authenticate(req: AuthenticatedRequest): Principal {
    this.authentications += 1;
    const header = req.headers['x-principal'];
    if (typeof header !== 'string') throw new UnauthorizedException('nobody');
    return JSON.parse(header) as Principal;
  }
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

  @Post('admin')
  @Allow('platform-admin')
  restricted(): string {
    return 'ok';
  }
}

@Allow('auditor')
@Controller('fixture-base')
class BaseFixtureController {
  @Get()
  inherited(): string {
    return 'ok';
  }

  @Get('health')
  @Public()
  health(): string {
    return 'ok';
  }
}

@Controller('fixture-derived')
class DerivedFixtureController {
  @Get('base-less')
  undecided(): string {
    return 'ok';
  }
}

class UndecidedBase {
  @Get('from-base')
  undecided(): string {
    return 'ok';
  }
}

@Controller('fixture-child')
class ChildFixtureController extends UndecidedBase {
  @Get('own')
  @Allow('admin')
  own(): string {
    return 'ok';
  }
}

const adminOfAcme: Principal = { kind: 'tenant', tenantId: 'acme', role: 'admin', keyId: 'k1' };

function request(principal?: Principal): AuthenticatedRequest {
  return { headers: principal ? { 'x-principal': JSON.stringify(principal) } : {} } as AuthenticatedRequest;
}

function httpCall(controller: object, handler: string, req: AuthenticatedRequest): ExecutionContext {
  const type = controller as { prototype: Record<string, unknown> };
  return {
    getType: () => 'http',
    getHandler: () => type.prototype[handler],
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
}

describe('AccessGuard', () => {
  it('refuses a route that carries no access decision, without asking who calls', async () => {
    const guard = new HeaderGuard();
    const call = guard.canActivate(httpCall(FixtureController, 'forgotten', request(adminOfAcme)));
    await expect(call).rejects.toThrow(new ForbiddenException('this endpoint has no access rule'));
    expect(guard.authentications).toBe(0);
  });

  it('lets anyone call a public route, without authenticating', async () => {
    const guard = new HeaderGuard();
    await expect(guard.canActivate(httpCall(PublicFixtureController, 'page', request()))).resolves.toBe(true);
    await expect(guard.canActivate(httpCall(BaseFixtureController, 'health', request()))).resolves.toBe(true);
    expect(guard.authentications).toBe(0);
  });

  it('authenticates an allowed route and hands the principal to the handler', async () => {
    const guard = new HeaderGuard();
    const req = request(adminOfAcme);
    await expect(guard.canActivate(httpCall(FixtureController, 'decided', req))).resolves.toBe(true);
    expect(req.principal).toEqual(adminOfAcme);
  });

  it('refuses a principal the route does not allow, naming who may', async () => {
    const guard = new HeaderGuard();
    const call = guard.canActivate(httpCall(BaseFixtureController, 'inherited', request(adminOfAcme)));
    await expect(call).rejects.toThrow("role 'admin' may not call this endpoint (allowed: auditor)");
  });

  it("a handler's decision overrides its controller's", async () => {
    const guard = new HeaderGuard();
    const call = guard.canActivate(httpCall(PublicFixtureController, 'restricted', request()));
    await expect(call).rejects.toThrow(UnauthorizedException);
    expect(guard.authentications).toBe(1);
  });

  it('leaves Kafka handlers to the broker', async () => {
    const guard = new HeaderGuard();
    const rpc = { ...httpCall(FixtureController, 'forgotten', request()), getType: () => 'rpc' };
    await expect(guard.canActivate(rpc as ExecutionContext)).resolves.toBe(true);
  });
});

describe('routesWithoutAccessDecision', () => {
  it('finds a route that carries neither @Allow nor @Public', () => {
    expect(routesWithoutAccessDecision([FixtureController, PublicFixtureController])).toEqual([
      'POST /v1/fixture/open',
    ]);
  });

  it('reads a decision from the controller and finds routes a controller inherits', () => {
    expect(
      routesWithoutAccessDecision([BaseFixtureController, DerivedFixtureController, ChildFixtureController]),
    ).toEqual(['GET /fixture-derived/base-less', 'GET /fixture-child/from-base']);
  });
});

import {
  type ApiKeyRole,
  LEDGER_INTERNAL_TOKEN_HEADER,
  LEDGER_PRINCIPAL_HEADER,
  type LedgerPrincipal,
  ledgerPrincipalSchema,
} from '@deliberate/contracts';
import { formatZodIssues } from '@deliberate/kafka';
import {
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
import { LEDGER_CONFIG, type LedgerConfig } from '../config';

export type Access = ApiKeyRole | 'platform-admin';
const ACCESS = 'deliberate:ledger-access';

/** Who may call a handler: tenant roles, and/or the platform admin. Handlers without it are public (health). */
export const Allow = (...access: Access[]) => SetMetadata(ACCESS, access);

type AuthenticatedRequest = Request & { principal?: LedgerPrincipal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): LedgerPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new UnauthorizedException('not authenticated');
  return principal;
});

const digest = (value: string) => createHash('sha256').update(value).digest();

// The ledger sits behind the gateway, which authenticates API keys and forwards who called. The principal is
// believed only with the shared internal token, compared in constant time.
@Injectable()
export class InternalAuthGuard implements CanActivate {
  private readonly expectedToken: Buffer | null;

  constructor(
    private readonly reflector: Reflector,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
  ) {
    this.expectedToken = config.LEDGER_INTERNAL_TOKEN ? digest(config.LEDGER_INTERNAL_TOKEN) : null;
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true; // Kafka commands: the broker is the boundary
    const access = this.reflector.getAllAndOverride<Access[] | undefined>(ACCESS, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!access) return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!this.expectedToken) {
      throw new UnauthorizedException('the ledger HTTP API is disabled: LEDGER_INTERNAL_TOKEN is not set');
    }
    const token = req.headers[LEDGER_INTERNAL_TOKEN_HEADER];
    if (typeof token !== 'string' || !timingSafeEqual(digest(token), this.expectedToken)) {
      throw new UnauthorizedException(
        `missing or wrong ${LEDGER_INTERNAL_TOKEN_HEADER}: the ledger answers only the gateway`,
      );
    }
    req.principal = parsePrincipal(req.headers[LEDGER_PRINCIPAL_HEADER]);
    const principal = req.principal;
    const allowed =
      principal.kind === 'platform-admin'
        ? access.includes('platform-admin')
        : access.includes(principal.role);
    if (!allowed) {
      const who = principal.kind === 'platform-admin' ? 'the platform admin' : `role '${principal.role}'`;
      throw new ForbiddenException(`${who} may not call this endpoint (allowed: ${access.join(', ')})`);
    }
    return true;
  }
}

function parsePrincipal(header: string | string[] | undefined): LedgerPrincipal {
  if (typeof header !== 'string')
    throw new UnauthorizedException(`missing ${LEDGER_PRINCIPAL_HEADER} header`);
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    throw new UnauthorizedException(`${LEDGER_PRINCIPAL_HEADER} is not JSON`);
  }
  const parsed = ledgerPrincipalSchema.safeParse(value);
  if (!parsed.success) {
    throw new UnauthorizedException(`invalid ${LEDGER_PRINCIPAL_HEADER}: ${formatZodIssues(parsed.error)}`);
  }
  return parsed.data;
}

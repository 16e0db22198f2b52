import { AccessGuard, type AuthenticatedRequest, TooManyRequestsException } from '@deliberate/http';
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Principal } from './principal';
import { RequestAuthenticator } from './request-authenticator';

// The gateway learns who is calling from an API key (looked up once per request, before the body is read).
@Injectable()
export class ApiKeyGuard extends AccessGuard {
  constructor(
    private readonly authenticator: RequestAuthenticator,
    reflector: Reflector,
  ) {
    super(reflector);
  }

  protected async authenticate(req: AuthenticatedRequest): Promise<Principal> {
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
        return authentication.principal;
    }
  }
}

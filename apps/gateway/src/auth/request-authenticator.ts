import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { QuotaService } from '../quotas/quota.service';
import { AuthService } from './auth.service';
import type { Principal } from './principal';

/** What the Authorization header of one request comes to. */
export type Authentication =
  | { outcome: 'anonymous' }
  | { outcome: 'refused'; message: string }
  | { outcome: 'limited'; message: string; retryAfterSeconds: number }
  | { outcome: 'authenticated'; principal: Principal };

// Each request is authenticated once, before its body is read (authenticate-before-body.ts), and the guard reuses
// that answer: a key is looked up, and a token of its rate taken, once per request.
@Injectable()
export class RequestAuthenticator {
  private readonly answers = new WeakMap<Request, Promise<Authentication>>();

  constructor(
    private readonly auth: AuthService,
    private readonly quotas: QuotaService,
  ) {}

  authenticate(req: Request): Promise<Authentication> {
    let answer = this.answers.get(req);
    if (!answer) {
      answer = this.resolve(req.headers.authorization);
      this.answers.set(req, answer);
    }
    return answer;
  }

  private async resolve(header: string | undefined): Promise<Authentication> {
    if (header === undefined) return { outcome: 'anonymous' };
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      return { outcome: 'refused', message: 'malformed Authorization header: expected "Bearer <api key>"' };
    }
    const caller = await this.auth.authenticate(match[1]!);
    if (!caller) return { outcome: 'refused', message: 'unknown or revoked API key' };
    if (caller.rate && caller.principal.kind === 'tenant') {
      const limited = await this.quotas.takeRequestToken(caller.principal.keyId, caller.rate);
      if (limited) return { outcome: 'limited', ...limited };
    }
    return { outcome: 'authenticated', principal: caller.principal };
  }
}

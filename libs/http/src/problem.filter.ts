import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { Response } from 'express';
import { type Observable, throwError } from 'rxjs';
import { dependencyOutage } from '@deliberate/retry';
import { DependencyUnavailableException } from './dependency-outage';

/**
 * 429 with the Retry-After header the problem filter sets: the caller may try again after that many seconds. The
 * filter sets it for any HTTP exception with a `retryAfterSeconds`.
 */
export class TooManyRequestsException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super({ statusCode: 429, error: 'Too Many Requests', message }, 429);
  }
}

// Every HTTP error leaves a service in one shape: { statusCode, error, message, issues? }. On Kafka message
// patterns the error travels back to the caller as the reply's error.
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() !== 'http') {
      if (exception instanceof RpcException) return throwError(() => exception.getError());
      this.logger.error(exception instanceof Error ? exception : String(exception));
      return throwError(() => ({ code: 'internal', message: 'internal error' }));
    }
    const res = host.switchToHttp().getResponse<Response>();
    // An unreachable database or broker is the client's cue to retry later, not a 500.
    const outage = exception instanceof HttpException ? null : dependencyOutage(exception);
    if (outage) this.logger.warn({ msg: 'dependency unreachable; answered 503', ...outage });
    const error = outage ? new DependencyUnavailableException(outage.dependency) : exception;
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const body = error.getResponse();
      const problem =
        typeof body === 'string'
          ? { statusCode: status, error: error.name, message: body }
          : { statusCode: status, ...(body as Record<string, unknown>) };
      if (Array.isArray(problem.message)) problem.message = problem.message.join('; ');
      // 429, 503, and any other answer that says when to come back.
      const retryAfterSeconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      if (typeof retryAfterSeconds === 'number') {
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))));
      }
      res.status(status).json(problem);
      return;
    }
    this.logger.error(exception instanceof Error ? exception : String(exception));
    res.status(500).json({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
}

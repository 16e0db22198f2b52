import type { Dependency } from '@deliberate/retry';
import { HttpException } from '@nestjs/common';

// An unreachable dependency (as `dependencyOutage` of @deliberate/retry tells it) answered 503 with Retry-After: the
// client retries the same request later, and an Idempotency-Key makes that retry safe.

/** A few seconds: long enough for a failover or a restart to finish, short enough to keep a client's deadline. */
export const DEPENDENCY_RETRY_AFTER_S = 5;

const DEPENDENCY_NAMES: Record<Dependency, string> = {
  postgres: 'the database (PostgreSQL)',
  kafka: 'the message broker (Kafka)',
};

/** 503 with Retry-After: a dependency of the service is unreachable; the same request may be sent again. */
export class DependencyUnavailableException extends HttpException {
  readonly retryAfterSeconds = DEPENDENCY_RETRY_AFTER_S;

  constructor(readonly dependency: Dependency) {
    super(
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message: `${DEPENDENCY_NAMES[dependency]} is unreachable; retry in ${DEPENDENCY_RETRY_AFTER_S} s (with the same Idempotency-Key for a submission)`,
        dependency,
      },
      503,
    );
  }
}

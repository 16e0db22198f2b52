import { TooManyRequestsException } from '@deliberate/http';
import { Sql } from '@deliberate/persistence';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { QuotaRepository } from './quota.repository';

// A tenant at its limit of unfinished tasks has to wait for one to end; a few seconds is the poll interval we advise.
const UNFINISHED_RETRY_AFTER_S = 5;

@Injectable()
export class QuotaService {
  constructor(
    private readonly sql: Sql,
    private readonly repository: QuotaRepository,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** Counts one request against the key's rate; when the key has none left, says why and how long to wait. */
  async takeRequestToken(
    keyId: string,
    rate: { perSecond: number; burst: number },
  ): Promise<{ message: string; retryAfterSeconds: number } | null> {
    const { allowed, tokens } = await this.repository.takeRequestToken(
      this.sql,
      keyId,
      rate.perSecond,
      rate.burst,
    );
    if (allowed) return null;
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - tokens) / rate.perSecond));
    return {
      message: `this API key is over its rate limit of ${rate.perSecond} requests per second (burst ${rate.burst}); retry in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    };
  }

  /**
   * Runs `insert` (which creates the task, or finds the earlier one an idempotent retry names) while no other HTTP
   * submission of the tenant is admitted, and undoes it with a 429 when it created a task beyond the tenant's limit
   * of unfinished tasks. A retry of an existing task is answered whatever the count. `first` runs in the same
   * transaction before the tenant's lock is taken (it may refuse the request without waiting for it).
   */
  async admitWithinUnfinishedLimit<T extends { created: boolean }>(
    tenantId: string,
    insert: (tx: Sql) => Promise<T>,
    first?: (tx: Sql) => Promise<void>,
  ): Promise<T> {
    return this.sql.transaction(async (tx) => {
      await first?.(tx);
      const admission = await this.repository.lockAdmission(
        tx,
        tenantId,
        (override) => override ?? this.config.GATEWAY_MAX_UNFINISHED_TASKS,
      );
      const limit = admission?.override ?? this.config.GATEWAY_MAX_UNFINISHED_TASKS;
      const result = await insert(tx);
      if (result.created && admission && admission.unfinished >= limit) {
        throw new TooManyRequestsException(
          `tenant '${tenantId}' already has ${admission.unfinished} unfinished tasks, its limit ` +
            `(quotas.maxUnfinishedTasks); submit again when one completes, fails or is cancelled`,
          UNFINISHED_RETRY_AFTER_S,
        );
      }
      return result;
    });
  }
}

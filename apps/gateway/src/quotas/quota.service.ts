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
   * Runs `insert` (which creates the task, or finds the earlier one an idempotent retry names), then, for a task it
   * created, takes the tenant's admission lock and counts the tenant's unfinished tasks, undoing the insert with a
   * 429 when the others were already at the tenant's limit. Concurrent submissions of a tenant are counted one after
   * the other: each count runs after the one before it committed, and sees it. The lock comes last so a submission
   * holds it only for the count and the commit (the insert and its outbox row are done before). A retry of an
   * existing task takes no lock and is answered whatever the count. `first` runs in the same transaction before
   * anything else (it may refuse the request at once).
   */
  async admitWithinUnfinishedLimit<T extends { created: boolean }>(
    tenantId: string,
    insert: (tx: Sql) => Promise<T>,
    first?: (tx: Sql) => Promise<void>,
  ): Promise<T> {
    return this.sql.transaction(async (tx) => {
      await first?.(tx);
      const result = await insert(tx);
      if (!result.created) return result;
      const admission = await this.repository.lockAdmission(
        tx,
        tenantId,
        // The count includes the task just inserted: one more than the limit tells whether the others reach it.
        (override) => (override ?? this.config.GATEWAY_MAX_UNFINISHED_TASKS) + 1,
      );
      if (!admission) return result;
      const limit = admission.override ?? this.config.GATEWAY_MAX_UNFINISHED_TASKS;
      const others = admission.unfinished - 1;
      if (others >= limit) {
        throw new TooManyRequestsException(
          `tenant '${tenantId}' already has ${others} unfinished tasks, its limit ` +
            `(quotas.maxUnfinishedTasks); submit again when one completes, fails or is cancelled`,
          UNFINISHED_RETRY_AFTER_S,
        );
      }
      return result;
    });
  }
}

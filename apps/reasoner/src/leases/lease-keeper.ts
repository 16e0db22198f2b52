import { PeriodicJob } from '@deliberate/persistence';
import { JobRunMetrics } from '@deliberate/metrics';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { ExecutionRepository } from '../execution/execution.repository';
import { ExecutionPool } from '../scheduling/execution-pool';

const MAX_CLAIM_BATCH = 1_000;

// Every third of a lease: renews the leases this instance holds in one UPDATE (which also reports cancels that
// reached another instance), then claims executions nobody holds — pending ones handed back, and those of an
// instance that died — as far as the pool has room.
@Injectable()
export class LeaseKeeper {
  private readonly logger = new Logger(LeaseKeeper.name);
  private readonly job: PeriodicJob;
  private renewedAt = Date.now();

  constructor(
    private readonly repo: ExecutionRepository,
    private readonly pool: ExecutionPool,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
    @Optional() runs?: JobRunMetrics,
  ) {
    this.job = new PeriodicJob(
      {
        name: 'lease renewal and claim',
        intervalMs: Math.max(100, Math.floor(config.REASONER_LEASE_MS / 3)),
        logger: this.logger,
        runs,
      },
      () => this.runOnce(),
    );
  }

  /** Claims what is claimable now, then keeps leases and claims going in the background. */
  async start(): Promise<void> {
    await this.claim();
    this.job.start();
  }

  async stop(): Promise<void> {
    await this.job.stop();
  }

  /** One renewal and claim round; public for tests and for start-up. */
  async runOnce(): Promise<void> {
    // Taken before the renewal: an execution stored or claimed after it started is not in this round's answer.
    const local = this.pool.heldIds();
    const startedAt = Date.now();
    let held: { id: string; cancelRequested: boolean }[];
    try {
      held = await this.repo.renewLeases(
        this.config.REASONER_INSTANCE_ID,
        this.config.REASONER_LEASE_MS,
        local,
      );
    } catch (e) {
      // Unrenewed past the lease, every execution here may have a new owner: stop their calls.
      if (Date.now() - this.renewedAt >= this.config.REASONER_LEASE_MS) this.abortLost(local);
      throw e;
    }
    this.renewedAt = startedAt;
    const renewed = new Set(held.map((h) => h.id));
    this.abortLost(local.filter((id) => !renewed.has(id)));
    for (const h of held) if (h.cancelRequested && this.pool.has(h.id)) this.pool.cancel(h.id);
    await this.claim();
  }

  private abortLost(ids: readonly string[]): void {
    let aborted = 0;
    for (const id of ids) if (this.pool.abortLost(id)) aborted += 1;
    if (aborted)
      this.logger.warn({ msg: 'lease lost: calls of executions another instance may own aborted', aborted });
  }

  private async claim(): Promise<void> {
    const limit = Math.min(MAX_CLAIM_BATCH, this.pool.freeCapacity);
    const claimed = await this.repo.claim(
      this.config.REASONER_INSTANCE_ID,
      this.config.REASONER_LEASE_MS,
      limit,
    );
    if (!claimed.length) return;
    const busy: string[] = [];
    for (const c of claimed) if (!this.pool.submit(c.id, c.tenantId)) busy.push(c.id);
    // Still ending here after being handed back: give it back again, the next round takes it.
    await this.repo.release(this.config.REASONER_INSTANCE_ID, busy);
    this.logger.log({ msg: 'claimed executions', count: claimed.length - busy.length });
  }
}

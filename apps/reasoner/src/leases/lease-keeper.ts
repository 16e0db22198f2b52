import { Inject, Injectable, Logger } from '@nestjs/common';
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
  private timer: NodeJS.Timeout | null = null;
  private tick: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly repo: ExecutionRepository,
    private readonly pool: ExecutionPool,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  /** Claims what is claimable now, then keeps leases and claims going in the background. */
  async start(): Promise<void> {
    await this.claim();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tick;
  }

  /** One renewal and claim round; public for tests and for start-up. */
  async runOnce(): Promise<void> {
    const held = await this.repo.renewLeases(this.config.REASONER_INSTANCE_ID, this.config.REASONER_LEASE_MS);
    for (const h of held) if (h.cancelRequested && this.pool.has(h.id)) this.pool.cancel(h.id);
    await this.claim();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.tick = this.runOnce()
          .catch((e: unknown) =>
            this.logger.warn({
              msg: 'lease renewal or claim failed; retrying next round',
              error: (e as Error).message,
            }),
          )
          .finally(() => {
            this.tick = null;
            this.schedule();
          });
      },
      Math.max(100, Math.floor(this.config.REASONER_LEASE_MS / 3)),
    );
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

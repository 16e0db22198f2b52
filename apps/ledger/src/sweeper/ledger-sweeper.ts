import { PeriodicJob } from '@deliberate/persistence';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { CostBreakerService } from '../breaker/cost-breaker.service';
import { LEDGER_CONFIG, type LedgerConfig } from '../config';
import { OutboxRelay } from '@deliberate/outbox';
import { ReservationService } from '../reservations/reservation.service';

// Batches per tick, so one tick cannot run for ever behind a flood of expiries.
const MAX_BATCHES_PER_TICK = 20;

// Every LEDGER_SWEEP_INTERVAL_MS: releases expired holds (callers that crashed between reserve and settle), gives
// open breakers past their cool-down their half-open check, and republishes events the outbox still holds.
// Safe on every instance at once: each step claims its rows with FOR UPDATE SKIP LOCKED.
@Injectable()
export class LedgerSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LedgerSweeper.name);
  private readonly job: PeriodicJob;

  constructor(
    private readonly reservations: ReservationService,
    private readonly breaker: CostBreakerService,
    private readonly relay: OutboxRelay,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {
    this.job = new PeriodicJob(
      { name: 'ledger sweep', intervalMs: config.LEDGER_SWEEP_INTERVAL_MS, logger: this.logger },
      () => this.sweepOnce(),
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  async sweepOnce(): Promise<void> {
    await this.step('expire reservations', async () => {
      const batch = this.config.LEDGER_SWEEP_BATCH_SIZE;
      let expired = 0;
      for (let i = 0; i < MAX_BATCHES_PER_TICK; i += 1) {
        const n = await this.reservations.expireDue(batch);
        expired += n;
        if (n < batch) break;
      }
      if (expired) this.logger.log({ msg: 'expired reservations released', count: expired });
    });
    await this.step('re-evaluate breakers', () => this.breaker.reevaluateDue().then(() => undefined));
    await this.step('relay outbox', async () => {
      const count = await this.relay.relayStale(this.config.LEDGER_SWEEP_BATCH_SIZE);
      if (count) this.logger.log({ msg: 'republished outbox events', count });
    });
  }

  private async step(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (e) {
      this.logger.warn({ msg: `sweeper: ${name} failed; will retry`, error: (e as Error).message });
    }
  }
}

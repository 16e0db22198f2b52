import { JobRunMetrics } from '@deliberate/metrics';
import { advisoryLock, PeriodicJob, Sql } from '@deliberate/persistence';
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

export const LEDGER_SWEEP_JOB = 'ledger sweep';

// Batches per tick, so one tick cannot run for ever behind a flood of expiries.
const MAX_BATCHES_PER_TICK = 20;

// Every LEDGER_SWEEP_INTERVAL_MS: releases expired holds (callers that crashed between reserve and settle), gives
// open breakers past their cool-down their half-open check, and republishes events the outbox still holds.
// One instance sweeps at a time (a Postgres advisory lock; the others skip that tick), though each step would be
// safe on every instance at once: it claims its rows with FOR UPDATE SKIP LOCKED.
@Injectable()
export class LedgerSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LedgerSweeper.name);
  private readonly job: PeriodicJob;

  constructor(
    private readonly reservations: ReservationService,
    private readonly breaker: CostBreakerService,
    private readonly relay: OutboxRelay,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    sql: Sql,
    runs: JobRunMetrics,
  ) {
    this.job = new PeriodicJob(
      {
        name: LEDGER_SWEEP_JOB,
        intervalMs: config.LEDGER_SWEEP_INTERVAL_MS,
        lock: advisoryLock(LEDGER_SWEEP_JOB, sql),
        logger: this.logger,
        runs,
      },
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

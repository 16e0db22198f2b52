import type { EventConsumer } from '@deliberate/kafka';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { CancelRequestConsumer } from './cancellation/cancel-request.consumer';
import { REASONER_CONFIG, type ReasonerConfig } from './config';
import { ReasoningIntakeConsumer } from './intake/reasoning-intake.consumer';
import { LeaseKeeper } from './leases/lease-keeper';
import { ExecutionPool } from './scheduling/execution-pool';

import { ShadowRunner } from './shadow/shadow-runner';

// Start-up in the order recovery needs: executions a crashed instance left behind are claimed before the consumers
// join (a join can wait a whole session timeout for a dead member to leave), and shutdown in the reverse order:
// intake stops, queued work is handed back, calls in flight get their grace, then leases and cancels stop.
@Injectable()
export class ReasonerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReasonerLifecycle.name);
  private intake: EventConsumer | null = null;
  private cancels: EventConsumer | null = null;

  constructor(
    private readonly leases: LeaseKeeper,
    private readonly pool: ExecutionPool,
    private readonly intakeConsumer: ReasoningIntakeConsumer,
    private readonly cancelConsumer: CancelRequestConsumer,
    private readonly shadow: ShadowRunner,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.leases.start();
    const [intake, cancels] = await Promise.all([this.intakeConsumer.start(), this.cancelConsumer.start()]);
    this.intake = intake;
    this.cancels = cancels;
    this.pool.attachIntake(intake);
    this.shadow.start();
    this.logger.log({ msg: 'reasoner started', instanceId: this.config.REASONER_INSTANCE_ID });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.intake?.stop();
    // Shadow runs and live executions share the grace.
    await Promise.all([
      this.pool.drain(this.config.REASONER_SHUTDOWN_GRACE_MS),
      this.shadow.stop(this.config.REASONER_SHUTDOWN_GRACE_MS),
    ]);
    await this.leases.stop();
    await this.cancels?.stop();
  }

  /** Group joins of each consumer since start: more than one means a rebalance happened. */
  groupJoins(): { intake: number; cancels: number } {
    return { intake: this.intake?.groupJoins ?? 0, cancels: this.cancels?.groupJoins ?? 0 };
  }
}

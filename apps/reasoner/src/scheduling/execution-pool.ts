import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { InterruptedError } from '../execution/attempt-executor';
import type { ExecutionState } from '../execution/execution-record';
import { ExecutionRunner } from '../execution/execution-runner';
import { ExecutionRepository, LostOwnershipError } from '../execution/execution.repository';
import { ReasonerMetrics } from '../execution/reasoner-metrics';
import { FairScheduler, type ScheduledJob } from './fair-scheduler';

/** What intake pauses and resumes; the Kafka consumer in the service, a fake in unit tests. */
export interface IntakeValve {
  pause(): void;
  resume(): void;
}

export interface PoolStats {
  inFlight: number;
  queued: number;
  capacity: number;
  intakePaused: boolean;
}

// The executions this instance owns, run by the fair scheduler, and the intake valve: when queued plus in-flight
// reach the capacity the consumer pauses (the work stays in Kafka), and it resumes below the low watermark.
@Injectable()
export class ExecutionPool {
  private readonly logger = new Logger(ExecutionPool.name);
  private readonly scheduler: FairScheduler;
  private readonly lowWatermark: number;
  private valve: IntakeValve | null = null;
  private paused = false;

  constructor(
    private readonly runner: ExecutionRunner,
    private readonly repo: ExecutionRepository,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
    @Optional() metrics?: ReasonerMetrics,
  ) {
    this.lowWatermark = Math.floor(
      (config.REASONER_QUEUE_CAPACITY * config.REASONER_QUEUE_RESUME_PERCENT) / 100,
    );
    this.scheduler = new FairScheduler(config.REASONER_CONCURRENCY, {
      onSettled: () => this.maybeResume(),
      onError: (job, e) => this.onJobError(job, e),
    });
    metrics?.observeQueued(() => this.scheduler.queued);
  }

  attachIntake(valve: IntakeValve): void {
    this.valve = valve;
    this.maybePause();
  }

  stats(): PoolStats {
    return {
      inFlight: this.scheduler.inFlight,
      queued: this.scheduler.queued,
      capacity: this.config.REASONER_QUEUE_CAPACITY,
      intakePaused: this.paused,
    };
  }

  /** Room for more executions before the capacity is reached (what a claim may take). */
  get freeCapacity(): number {
    return Math.max(0, this.config.REASONER_QUEUE_CAPACITY - this.scheduler.queued - this.scheduler.inFlight);
  }

  has(executionId: string): boolean {
    return this.scheduler.has(executionId);
  }

  submit(executionId: string, tenantId: string, fresh?: ExecutionState): boolean {
    const queued = this.scheduler.enqueue({
      id: executionId,
      tenantId,
      run: (signal) => this.runner.run(executionId, signal, fresh),
    });
    this.maybePause();
    return queued;
  }

  /** The executions queued or running here now. */
  heldIds(): string[] {
    return this.scheduler.ids();
  }

  /** Aborts the call in flight of an execution whose lease this instance lost: another may have taken it over. */
  abortLost(executionId: string): boolean {
    return this.scheduler.abort(executionId, 'lease_lost');
  }

  /** Aborts the execution's call in flight, or ends a queued one now; false when this instance does not hold it. */
  cancel(executionId: string): boolean {
    return this.scheduler.abort(executionId, 'cancel');
  }

  /**
   * Shutdown: queued executions go back to the shared pool at once; calls in flight get `graceMs` to finish, then
   * are cut off and handed back too, for another instance to retry.
   */
  async drain(graceMs: number): Promise<void> {
    const waiting = this.scheduler.stop();
    await this.repo
      .release(
        this.config.REASONER_INSTANCE_ID,
        waiting.map((j) => j.id),
      )
      .catch((e: unknown) =>
        this.logger.warn({ msg: 'could not hand back queued executions', error: String(e) }),
      );
    if (!(await this.scheduler.idle(graceMs))) await this.scheduler.abortAll('shutdown');
  }

  private maybePause(): void {
    if (this.paused || !this.valve) return;
    if (this.scheduler.queued + this.scheduler.inFlight < this.config.REASONER_QUEUE_CAPACITY) return;
    this.paused = true;
    this.valve.pause();
    this.logger.log({
      msg: 'intake paused: the queue is full',
      queued: this.scheduler.queued,
      inFlight: this.scheduler.inFlight,
    });
  }

  private maybeResume(): void {
    if (!this.paused || !this.valve) return;
    if (this.scheduler.queued + this.scheduler.inFlight >= this.lowWatermark) return;
    this.paused = false;
    this.valve.resume();
    this.logger.log({
      msg: 'intake resumed',
      queued: this.scheduler.queued,
      inFlight: this.scheduler.inFlight,
    });
  }

  private async onJobError(job: ScheduledJob, e: unknown): Promise<void> {
    if (e instanceof LostOwnershipError) {
      this.logger.warn({
        msg: 'execution taken over by another instance; stopped here',
        executionId: job.id,
      });
      return;
    }
    if (!(e instanceof InterruptedError)) {
      // A database or broker outage, or a bug: handed back to the pool, the claim loop tries it again later.
      this.logger.error({
        msg: 'execution failed unexpectedly; handed back for a retry',
        executionId: job.id,
        error: (e as Error).message,
        stack: (e as Error).stack,
      });
    }
    // Cut off by a shutdown, or failed: another instance (or this one) claims it without waiting for the lease.
    await this.repo
      .release(this.config.REASONER_INSTANCE_ID, [job.id])
      .catch((err: unknown) =>
        this.logger.warn({ msg: 'could not hand back an execution', error: String(err) }),
      );
  }
}

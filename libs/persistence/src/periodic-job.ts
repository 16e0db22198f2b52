import { Logger } from '@nestjs/common';
import type { Sql } from './sql';

// Work that repeats: one run at a time, every intervalMs give or take the jitter, on one replica at a time when
// given a lock, stopped cleanly at shutdown. A failed run is logged with the job's name and the loop goes on.

/** Where a job's timers come from: the real clock, or a test's hand-cranked one. */
export interface JobScheduler {
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: JobScheduler = {
  // A pending run never keeps the process alive on its own.
  setTimeout: (fire, ms) => setTimeout(fire, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Runs `work` only while no other holder has the lock; answers false, without running it, when one has. */
export interface JobLock {
  runExclusive(work: () => Promise<void>): Promise<boolean>;
}

export interface JobLogger {
  warn(message: object): void;
}

/** Counts each run by how it ended (JobRunMetrics in libs/metrics). */
export interface JobRunRecorder {
  record(job: string, outcome: Exclude<RunOutcome, 'stopped'>): void;
}

export interface PeriodicJobOptions {
  /** Names the job in its logs. */
  name: string;
  intervalMs: number;
  /** How far each delay may stray from intervalMs, as a fraction of it, either way (default 0.1): replicas
   * started together drift apart instead of hitting the database in step. */
  jitter?: number;
  /** The first run comes at once rather than after one interval. */
  runAtStart?: boolean;
  /** How long stop() waits for the run in progress (default 10 s). */
  stopTimeoutMs?: number;
  /** Single runner across replicas: a run that cannot take the lock is skipped (see advisoryLock). */
  lock?: JobLock;
  logger?: JobLogger;
  runs?: JobRunRecorder;
  scheduler?: JobScheduler;
  random?: () => number;
}

/** One run's work. It may answer when the next run should come, when that should not be after the interval (a poll
 * that knows when work falls due). */
export type JobWork = () => Promise<void | { nextRunInMs: number }>;

export type RunOutcome = 'ran' | 'failed' | 'skipped' | 'stopped';

const DEFAULT_JITTER = 0.1;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export class PeriodicJob {
  private readonly logger: JobLogger;
  private readonly scheduler: JobScheduler;
  private timer: unknown = null;
  private current: Promise<void> | null = null;
  private started = false;
  private stopped = false;
  private again = false;
  private waiters: ((outcome: RunOutcome) => void)[] = [];

  constructor(
    private readonly options: PeriodicJobOptions,
    private readonly work: JobWork,
  ) {
    this.logger = options.logger ?? new Logger('PeriodicJob');
    this.scheduler = options.scheduler ?? realScheduler;
  }

  get name(): string {
    return this.options.name;
  }

  /** True while a run is in progress. */
  get running(): boolean {
    return this.current !== null;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.current) return; // a triggered run in progress schedules the next one when it ends
    this.schedule(this.options.runAtStart ? 0 : this.nextDelayMs());
  }

  /** Wake now: runs at once, or right after the run in progress (never alongside it); resolves with how that run
   * ended. Works before start() too, as a single run. */
  trigger(): Promise<RunOutcome> {
    if (this.stopped) return Promise.resolve('stopped');
    const outcome = new Promise<RunOutcome>((resolve) => this.waiters.push(resolve));
    if (this.current) this.again = true;
    else this.launch();
    return outcome;
  }

  /** No further runs; waits for the one in progress, at most stopTimeoutMs. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    this.settleWaiters('stopped');
    const current = this.current;
    if (!current) return;
    const limitMs = this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    let handle: unknown = null;
    const timedOut = new Promise<boolean>((resolve) => {
      handle = this.scheduler.setTimeout(() => resolve(true), limitMs);
    });
    const late = await Promise.race([current.then(() => false), timedOut]);
    this.scheduler.clearTimeout(handle);
    if (late) {
      this.logger.warn({
        msg: `${this.name}: still running after ${limitMs} ms; stopped without it`,
        job: this.name,
      });
    }
  }

  private schedule(delayMs: number): void {
    this.cancelTimer();
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = null;
      this.launch();
    }, delayMs);
  }

  private launch(): void {
    this.cancelTimer();
    this.again = false;
    const waiters = this.waiters.splice(0);
    this.current = this.runOnce().then(({ outcome, nextInMs }) => {
      this.current = null;
      if (outcome !== 'stopped') this.options.runs?.record(this.name, outcome);
      for (const resolve of waiters) resolve(outcome);
      if (this.stopped) return;
      if (this.again) this.launch();
      else if (this.started) this.schedule(nextInMs ?? this.nextDelayMs());
    });
  }

  private async runOnce(): Promise<{ outcome: RunOutcome; nextInMs: number | null }> {
    let nextInMs: number | null = null;
    const run = async () => {
      const answer = await this.work();
      if (answer) nextInMs = Math.max(0, answer.nextRunInMs);
    };
    try {
      if (!this.options.lock) {
        await run();
        return { outcome: 'ran', nextInMs };
      }
      const ran = await this.options.lock.runExclusive(run);
      return { outcome: ran ? 'ran' : 'skipped', nextInMs };
    } catch (e) {
      this.logger.warn({
        msg: `${this.name} failed; it runs again at the next interval`,
        job: this.name,
        error: e instanceof Error ? e.message : String(e),
      });
      return { outcome: 'failed', nextInMs: null };
    }
  }

  private nextDelayMs(): number {
    const jitter = this.options.jitter ?? DEFAULT_JITTER;
    const random = this.options.random ?? Math.random;
    return Math.max(0, Math.round(this.options.intervalMs * (1 + jitter * (2 * random() - 1))));
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    this.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }

  private settleWaiters(outcome: RunOutcome): void {
    for (const resolve of this.waiters.splice(0)) resolve(outcome);
  }
}

// One lock space for every job, apart from the one-key advisory locks used elsewhere.
const JOB_LOCK_SPACE = 'deliberate.periodic-job';

/** Single runner across replicas: each run holds a transaction-scoped Postgres advisory lock named after the job,
 * tried and never waited for. The transaction only holds the lock (the work uses connections of its own) and ends
 * with the run, so a replica that dies mid-run cannot keep it. It takes a connection for the run's length: work
 * that queries the same pool needs a pool of two or more. */
export function advisoryLock(name: string, sql: Sql): JobLock {
  return {
    async runExclusive(work) {
      // The work's own error is rethrown outside: a deadlock in it must not make the transaction redo the run.
      let failure: { error: unknown } | null = null;
      const ran = await sql.transaction(async (tx) => {
        const { locked } = await tx.one<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS locked',
          [JOB_LOCK_SPACE, name],
        );
        if (!locked) return false;
        try {
          await work();
        } catch (error) {
          failure = { error };
        }
        return true;
      });
      if (failure) throw (failure as { error: unknown }).error;
      return ran;
    },
  };
}

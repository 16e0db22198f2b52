// The in-process worker pool: at most `concurrency` jobs run at once, and waiting jobs are kept in one queue per
// tenant, served round-robin, so a tenant that enqueued thousands cannot make another wait behind all of them.

export interface ScheduledJob {
  /** The execution id: one job per execution at a time. */
  id: string;
  tenantId: string;
  run(signal: AbortSignal): Promise<void>;
}

/** Why a running job's signal was aborted; lease_lost: this instance could not renew the execution's lease. */
export type AbortReason = 'cancel' | 'shutdown' | 'lease_lost';

export interface SchedulerHooks {
  /** After every job ends, whichever way; the place to resume a paused intake. */
  onSettled?: () => void;
  /** Awaited before the job counts as ended. */
  onError?: (job: ScheduledJob, error: unknown) => Promise<void> | void;
}

interface Running {
  job: ScheduledJob;
  controller: AbortController;
  done: Promise<void>;
}

export class FairScheduler {
  // Map iteration follows insertion order: the first tenant is the next one served, and a tenant that still has
  // work after being served is re-inserted at the end.
  private readonly queues = new Map<string, ScheduledJob[]>();
  private readonly queuedIds = new Set<string>();
  private readonly running = new Map<string, Running>();
  private stopped = false;

  constructor(
    private readonly concurrency: number,
    private readonly hooks: SchedulerHooks = {},
  ) {}

  get queued(): number {
    return this.queuedIds.size;
  }

  get inFlight(): number {
    return this.running.size;
  }

  has(id: string): boolean {
    return this.queuedIds.has(id) || this.running.has(id);
  }

  /** The ids of every job queued or running now. */
  ids(): string[] {
    return [...this.queuedIds, ...this.running.keys()];
  }

  /** Queues a job unless one for the same execution is queued or running; returns whether it was queued. */
  enqueue(job: ScheduledJob): boolean {
    if (this.stopped || this.has(job.id)) return false;
    const queue = this.queues.get(job.tenantId);
    if (queue) queue.push(job);
    else this.queues.set(job.tenantId, [job]);
    this.queuedIds.add(job.id);
    this.pump();
    return true;
  }

  /**
   * Aborts a running job with `reason`, or starts a queued one at once, past the concurrency limit, with its
   * signal already aborted: a cancelled job only records its end, and must not wait its turn to do so.
   */
  abort(id: string, reason: AbortReason): boolean {
    const running = this.running.get(id);
    if (running) {
      if (!running.controller.signal.aborted) running.controller.abort(reason);
      return true;
    }
    const job = this.takeQueued(id);
    if (!job) return false;
    const controller = new AbortController();
    controller.abort(reason);
    this.start(job, controller);
    return true;
  }

  /** Stops starting jobs and hands back those still waiting (their executions go back to the shared pool). */
  stop(): ScheduledJob[] {
    this.stopped = true;
    const waiting = [...this.queues.values()].flat();
    this.queues.clear();
    this.queuedIds.clear();
    return waiting;
  }

  /** Aborts every running job with `reason` and waits until all have ended. */
  async abortAll(reason: AbortReason): Promise<void> {
    for (const r of this.running.values()) if (!r.controller.signal.aborted) r.controller.abort(reason);
    await this.idle();
  }

  /** Resolves when no job runs, or after `timeoutMs`; returns whether the pool is idle. */
  async idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running.values()].map((r) => r.done)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.min(left, 2_147_483_647));
        }),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  private takeQueued(id: string): ScheduledJob | null {
    if (!this.queuedIds.has(id)) return null;
    for (const [tenantId, queue] of this.queues) {
      const index = queue.findIndex((j) => j.id === id);
      if (index < 0) continue;
      const [job] = queue.splice(index, 1);
      if (queue.length === 0) this.queues.delete(tenantId);
      this.queuedIds.delete(id);
      return job ?? null;
    }
    return null;
  }

  private next(): ScheduledJob | null {
    const first = this.queues.entries().next();
    if (first.done) return null;
    const [tenantId, queue] = first.value;
    const job = queue.shift() ?? null;
    this.queues.delete(tenantId);
    if (queue.length > 0) this.queues.set(tenantId, queue);
    if (job) this.queuedIds.delete(job.id);
    return job;
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency) {
      const job = this.next();
      if (!job) return;
      this.start(job, new AbortController());
    }
  }

  private start(job: ScheduledJob, controller: AbortController): void {
    const entry: Running = { job, controller, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = (async () => {
      try {
        await job.run(controller.signal);
      } catch (e) {
        await this.hooks.onError?.(job, e);
      } finally {
        this.running.delete(job.id);
        this.pump();
        this.hooks.onSettled?.();
      }
    })();
  }
}

import {
  advisoryLock,
  type JobLock,
  type JobScheduler,
  type JobWork,
  PeriodicJob,
  type PeriodicJobOptions,
} from './periodic-job';
import { retryOnConflict, Sql } from './sql';

// A clock turned by hand: timers fire only when the test advances it.
class ManualScheduler implements JobScheduler {
  now = 0;
  private timers = new Map<number, { at: number; fire: () => void }>();
  private nextId = 1;

  setTimeout(fire: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fire });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }

  /** Moves the clock on, firing what falls due in order and letting the promises they start settle. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= until)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fire();
      await settle();
    }
    this.now = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('PeriodicJob', () => {
  let scheduler: ManualScheduler;
  let warnings: object[];
  const jobWith = (work: JobWork, options: Partial<PeriodicJobOptions> = {}) =>
    new PeriodicJob(
      {
        name: 'test sweep',
        intervalMs: 1_000,
        jitter: 0,
        scheduler,
        logger: { warn: (m) => warnings.push(m) },
        ...options,
      },
      work,
    );

  beforeEach(() => {
    scheduler = new ManualScheduler();
    warnings = [];
  });

  it('runs every interval after start, not before', async () => {
    let runs = 0;
    const job = jobWith(() => Promise.resolve(void (runs += 1)));
    job.start();
    await scheduler.advance(999);
    expect(runs).toBe(0);
    await scheduler.advance(1);
    expect(runs).toBe(1);
    await scheduler.advance(2_000);
    expect(runs).toBe(3);
    await job.stop();
  });

  it('runs at once on start when asked to', async () => {
    let runs = 0;
    const job = jobWith(() => Promise.resolve(void (runs += 1)), { runAtStart: true });
    job.start();
    await scheduler.advance(0);
    expect(runs).toBe(1);
    await job.stop();
  });

  it('spreads each delay by the jitter, either way', () => {
    const early = jobWith(() => Promise.resolve(), { jitter: 0.2, random: () => 0 });
    const late = jobWith(() => Promise.resolve(), { jitter: 0.2, random: () => 0.999_999 });
    early.start();
    expect(scheduler.pending).toEqual([800]);
    late.start();
    expect(scheduler.pending).toEqual([800, 1_200]);
  });

  it('never starts a run while the previous one is in progress; the next comes an interval after it ends', async () => {
    const gate = deferred();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const job = jobWith(async () => {
      runs += 1;
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      if (runs === 1) await gate.promise;
      concurrent -= 1;
    });
    job.start();
    await scheduler.advance(1_000);
    expect(job.running).toBe(true);
    await scheduler.advance(5_000);
    expect(runs).toBe(1);
    expect(scheduler.pending).toEqual([]);
    gate.resolve();
    await settle();
    expect(job.running).toBe(false);
    expect(scheduler.pending).toEqual([1_000]);
    await scheduler.advance(1_000);
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
    await job.stop();
  });

  it('logs a failed run with the job name and keeps going', async () => {
    let runs = 0;
    const job = jobWith(() => {
      runs += 1;
      return runs === 1 ? Promise.reject(new Error('database went away')) : Promise.resolve();
    });
    job.start();
    await scheduler.advance(1_000);
    expect(warnings).toEqual([
      expect.objectContaining({
        job: 'test sweep',
        error: 'database went away',
        msg: expect.stringContaining('test sweep'),
      }),
    ]);
    await scheduler.advance(1_000);
    expect(runs).toBe(2);
    expect(warnings).toHaveLength(1);
    await job.stop();
  });

  it('runs at once on trigger, and restarts the interval from that run', async () => {
    let runs = 0;
    const job = jobWith(() => Promise.resolve(void (runs += 1)));
    job.start();
    await scheduler.advance(400);
    await expect(job.trigger()).resolves.toBe('ran');
    expect(runs).toBe(1);
    expect(scheduler.pending).toEqual([1_000]);
    await job.stop();
  });

  it('runs a trigger that arrives mid-run once, right after the run in progress', async () => {
    const gate = deferred();
    let runs = 0;
    const job = jobWith(async () => {
      runs += 1;
      if (runs === 1) await gate.promise;
    });
    const first = job.trigger();
    const second = job.trigger();
    const third = job.trigger();
    await settle();
    expect(runs).toBe(1);
    gate.resolve();
    await expect(first).resolves.toBe('ran');
    await expect(Promise.all([second, third])).resolves.toEqual(['ran', 'ran']);
    expect(runs).toBe(2);
    // Never started: a trigger is a single run, with no timer left behind.
    expect(scheduler.pending).toEqual([]);
  });

  it('lets a run choose the delay before the next one', async () => {
    let runs = 0;
    const job = jobWith(() => {
      runs += 1;
      return Promise.resolve(runs === 1 ? { nextRunInMs: 50 } : undefined);
    });
    job.start();
    await scheduler.advance(1_000);
    expect(scheduler.pending).toEqual([50]);
    await scheduler.advance(50);
    expect(runs).toBe(2);
    expect(scheduler.pending).toEqual([1_000]);
    await job.stop();
  });

  it('stops: no further runs, and stop waits for the run in progress', async () => {
    const gate = deferred();
    let runs = 0;
    let finished = false;
    const job = jobWith(async () => {
      runs += 1;
      await gate.promise;
      finished = true;
    });
    job.start();
    await scheduler.advance(1_000);
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    await scheduler.advance(10_000);
    expect(runs).toBe(1);
    await expect(job.trigger()).resolves.toBe('stopped');
  });

  it('waits for a run in progress no longer than stopTimeoutMs, and says so', async () => {
    const job = jobWith(() => new Promise<void>(() => undefined), { stopTimeoutMs: 500 });
    job.start();
    await scheduler.advance(1_000);
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await scheduler.advance(499);
    expect(stopped).toBe(false);
    await scheduler.advance(1);
    await stopping;
    expect(warnings).toEqual([
      expect.objectContaining({ job: 'test sweep', msg: expect.stringContaining('500 ms') }),
    ]);
  });

  it('skips a run whose lock is held elsewhere, and runs when it is free', async () => {
    let held = true;
    const lock: JobLock = {
      runExclusive: async (work) => {
        if (held) return false;
        await work();
        return true;
      },
    };
    let runs = 0;
    const job = jobWith(() => Promise.resolve(void (runs += 1)), { lock });
    await expect(job.trigger()).resolves.toBe('skipped');
    expect(runs).toBe(0);
    held = false;
    await expect(job.trigger()).resolves.toBe('ran');
    expect(runs).toBe(1);
  });

  it('records how each run ended under its name, and nothing for a run cut off by stop', async () => {
    const recorded: string[] = [];
    let held = false;
    const lock: JobLock = {
      runExclusive: async (work) => {
        if (held) return false;
        await work();
        return true;
      },
    };
    let fail = false;
    const job = jobWith(() => (fail ? Promise.reject(new Error('down')) : Promise.resolve()), {
      lock,
      runs: { record: (name, outcome) => recorded.push(`${name}: ${outcome}`) },
    });
    await job.trigger();
    held = true;
    await job.trigger();
    held = false;
    fail = true;
    await job.trigger();
    await job.stop();
    await job.trigger();
    expect(recorded).toEqual(['test sweep: ran', 'test sweep: skipped', 'test sweep: failed']);
  });

  it('counts a lock that cannot be reached as a failed run', async () => {
    const lock: JobLock = { runExclusive: () => Promise.reject(new Error('no connection')) };
    const job = jobWith(() => Promise.resolve(), { lock });
    await expect(job.trigger()).resolves.toBe('failed');
    expect(warnings).toEqual([expect.objectContaining({ job: 'test sweep', error: 'no connection' })]);
  });

  it('runs a locked run once even when it fails with a deadlock, which would make a transaction redo its work', async () => {
    // The lock's transaction is the Sql port's, which redoes its work on a conflict.
    const database = new (class extends Sql {
      query<T>(): Promise<T[]> {
        return Promise.resolve([{ locked: true } as T]);
      }
      execute(): Promise<number> {
        return Promise.resolve(0);
      }
      transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
        return retryOnConflict(() => work(this));
      }
    })();
    let runs = 0;
    const job = jobWith(
      () => {
        runs += 1;
        return Promise.reject(Object.assign(new Error('deadlock detected'), { code: '40P01' }));
      },
      { lock: advisoryLock('test sweep', database) },
    );
    await expect(job.trigger()).resolves.toBe('failed');
    expect(runs).toBe(1);
    expect(warnings).toEqual([expect.objectContaining({ job: 'test sweep', error: 'deadlock detected' })]);
  });
});

import { JobRunMetrics } from '@deliberate/metrics';
import { PeriodicJob } from '@deliberate/persistence';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { TRIAGE_CONFIG, type TriageConfig } from '../config';
import { TriageTaskRepository } from '../tasks/triage-task.repository';
import { TriageService } from './triage.service';

const SHUTDOWN_WAIT_MS = 10_000;

// Resumes the tasks whose next try is due, through the same steps as a delivery. Every instance polls; a due task
// is taken by one of them (SKIP LOCKED) under a lease on its retry_at, so one that stops mid-way leaves it to the
// next. Up to TRIAGE_CONCURRENCY tasks are resumed at once, each in the background: a slow one holds up no other.
@Injectable()
export class TriageRetries implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TriageRetries.name);
  private readonly job: PeriodicJob;
  private readonly resuming = new Set<Promise<void>>();

  constructor(
    private readonly tasks: TriageTaskRepository,
    private readonly triage: TriageService,
    @Inject(TRIAGE_CONFIG) private readonly config: TriageConfig,
    runs: JobRunMetrics,
  ) {
    this.job = new PeriodicJob(
      {
        name: 'triage retries',
        intervalMs: config.TRIAGE_RETRY_POLL_INTERVAL_MS,
        runAtStart: true,
        logger: this.logger,
        runs,
      },
      () => this.resumeDue(),
    );
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job.stop();
    // A resume cut short here (a call may run for TRIAGE_CALL_TIMEOUT_MS) is taken again by another instance once
    // its lease passes: shutdown waits for the resumes in progress only so long.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.resuming]),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS).unref())),
    ]);
    clearTimeout(timer);
  }

  private async resumeDue(): Promise<void> {
    const room = this.config.TRIAGE_CONCURRENCY - this.resuming.size;
    if (room <= 0) return;
    const due = await this.tasks.takeDue(
      room,
      this.config.TRIAGE_CALL_TIMEOUT_MS + this.config.TRIAGE_CLAIM_MARGIN_MS,
    );
    for (const { event } of due) {
      const resume: Promise<void> = this.triage
        .resume(event)
        .catch((e: unknown) =>
          this.logger.error({
            msg: 'resuming a task failed; it is taken again when its lease passes',
            taskId: event.taskId,
            error: (e as Error).message,
          }),
        )
        .finally(() => this.resuming.delete(resume));
      this.resuming.add(resume);
    }
  }
}

import type { Counter } from '@opentelemetry/api';
import type { ServiceMetrics } from './service-metrics';

// Periodic jobs (sweeps, retention, checkpoints, polls) run in the background, where a job that stopped running or
// fails every time is invisible without a count. `skipped` is a run another replica held the job's lock for.
export class JobRunMetrics {
  private readonly runs: Counter;

  constructor(metrics: ServiceMetrics) {
    this.runs = metrics.meter('deliberate.jobs').createCounter('deliberate.jobs.runs', {
      description: "Runs of the service's periodic jobs, by job and outcome (ran, skipped, failed)",
      unit: '{run}',
    });
  }

  record(job: string, outcome: string): void {
    this.runs.add(1, { 'deliberate.job.name': job, outcome });
  }
}

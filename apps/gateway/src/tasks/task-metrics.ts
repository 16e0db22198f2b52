import { isTerminal, type TaskStatus, taskStatusSchema } from '@deliberate/contracts';
import { observeGauge, ServiceMetrics } from '@deliberate/metrics';
import { Injectable, Optional } from '@nestjs/common';
import type { Counter } from '@opentelemetry/api';
import { TaskRepository } from './task.repository';

const UNFINISHED: readonly TaskStatus[] = taskStatusSchema.options.filter((s) => !isTerminal(s));
// A scrape waits no longer for the count: a database that does not answer leaves the gauge out of that scrape.
const COUNT_TIMEOUT_MS = 2_000;

/** The task's route once triage decided it, `none` before. */
export type RouteLabel = 'fast' | 'reasoning' | 'none';

// The read model's instruments. Labels: the task status and its route (enums), never a tenant or task id. A status
// change is counted when a row actually moved (an admission, or a lifecycle event that was not a redelivery).
@Injectable()
export class TaskMetrics {
  private readonly statusChanges: Counter | undefined;

  constructor(
    tasks: TaskRepository,
    // A bare test module without a metrics module keeps its read model unmeasured.
    @Optional() metrics?: ServiceMetrics,
  ) {
    if (!metrics) return;
    const meter = metrics.meter('deliberate.gateway');
    this.statusChanges = meter.createCounter('deliberate.tasks.status_changes', {
      description: 'Tasks that moved to a status in the read model: admitted, or moved by a lifecycle event',
      unit: '{task}',
    });
    observeGauge(
      meter,
      'deliberate.tasks.unfinished',
      { description: 'Tasks not yet completed, failed or cancelled, by status', unit: '{task}' },
      async () => {
        const counted = await withTimeout(tasks.countUnfinishedByStatus(), COUNT_TIMEOUT_MS);
        // Every unfinished status is reported, 0 included, so a series that empties drops to 0 instead of vanishing.
        return UNFINISHED.map((status) => [{ status }, counted.get(status) ?? 0] as const);
      },
    );
  }

  statusChanged(status: TaskStatus, route: RouteLabel, tasks = 1): void {
    if (tasks > 0) this.statusChanges?.add(tasks, { status, route });
  }
}

/** The route label of a stored triage route (null before triage). */
export function routeLabel(route: string | null | undefined): RouteLabel {
  return route === 'fast' || route === 'reasoning' ? route : 'none';
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

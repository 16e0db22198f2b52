import type { ShadowReportQuery, ShadowReportResponse } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import { ShadowComparisonRepository } from './shadow-comparison.repository';
import { projectMonthly, wilsonInterval } from './shadow-report';

const perTask = (microUsd: number, tasks: number) => (tasks > 0 ? Math.round(microUsd / tasks) : null);

@Injectable()
export class ShadowReportService {
  constructor(
    private readonly sql: Sql,
    private readonly comparisons: ShadowComparisonRepository,
  ) {}

  async report(tenantId: string, q: ShadowReportQuery): Promise<ShadowReportResponse> {
    const route = q.route ?? null;
    const a = await this.comparisons.aggregate(this.sql, { tenantId, from: q.from, to: q.to, route });
    const projection = projectMonthly({
      compared: a.compared,
      liveMicroUsd: a.liveMicroUsd,
      shadowMicroUsd: a.shadowMicroUsd,
      routeTasks: a.routeTasks,
      windowMs: q.to.getTime() - q.from.getTime(),
    });
    return {
      tenantId,
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      route,
      tasksCompared: a.compared,
      shadowOutcomes: a.outcomes,
      agreement: {
        method: 'normalised_exact_then_judge',
        answeredBoth: a.answeredBoth,
        agreed: a.agreed,
        judged: a.judged,
        rate: a.answeredBoth > 0 ? a.agreed / a.answeredBoth : null,
        confidence95: wilsonInterval(a.agreed, a.answeredBoth),
      },
      live: {
        models: a.liveModels,
        costMicroUsd: a.liveMicroUsd,
        costPerTaskMicroUsd: perTask(a.liveMicroUsd, a.compared),
        latencyMs: a.liveLatency,
        inputTokens: a.liveInputTokens,
        outputTokens: a.liveOutputTokens,
      },
      shadow: {
        models: a.shadowModels,
        costMicroUsd: a.shadowMicroUsd,
        costPerTaskMicroUsd: perTask(a.shadowMicroUsd, a.compared),
        latencyMs: a.shadowLatency,
        inputTokens: a.shadowInputTokens,
        outputTokens: a.shadowOutputTokens,
      },
      judge: { models: a.judgeModels, calls: a.judgeCalls, costMicroUsd: a.judgeMicroUsd },
      projectedMonthly: projection && {
        routeTasksPerMonth: projection.tasksPerMonth,
        liveMicroUsd: projection.liveMicroUsd,
        shadowMicroUsd: projection.shadowMicroUsd,
        differenceMicroUsd: projection.shadowMicroUsd - projection.liveMicroUsd,
      },
    };
  }
}

import { uuidv7, ZERO_USAGE } from '@deliberate/contracts';
import type { Sql } from '@deliberate/persistence';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import { Injectable } from '@nestjs/common';
import { type CompletedExecution, CompletionRecorder } from '../execution/completion-recorder';
import { ShadowRunRepository } from './shadow-run.repository';
import { isShadowSampled } from './shadow-sample';

// A completed task that its tenant's policy samples gets its shadow run with its outcome, in the same transaction:
// stored once, never lost, run later by the ShadowRunner off the task's path. The policy is read as the task ends.
@Injectable()
export class ShadowScheduler extends CompletionRecorder {
  constructor(
    private readonly runs: ShadowRunRepository,
    private readonly policies: TenantPolicyCache,
  ) {
    super();
  }

  async recordCompletion(tx: Sql, { execution: e, result, limits }: CompletedExecution): Promise<void> {
    const shadow = this.policies.policyOf(e.tenantId).shadow;
    if (!shadow || !isShadowSampled(e.taskId, shadow.sampleRate)) return;
    await this.runs.create(tx, {
      id: uuidv7(),
      executionId: e.id,
      taskId: e.taskId,
      tenantId: e.tenantId,
      model: shadow.model,
      serviceTier: shadow.serviceTier,
      live: {
        answer: result.answer,
        // The reasoner always names its model and usage; the fallbacks cover the schema's nulls.
        model: result.model ?? 'unknown',
        answeredBy: result.answeredBy,
        latencyMs: result.latencyMs,
        usage: result.usage ?? ZERO_USAGE,
      },
      maxCompletionTokens: limits.maxCompletionTokens,
      reasoningEffort: limits.reasoningEffort,
      apiKeyId: e.spec.apiKeyId,
      project: e.spec.project,
      usageEventId: uuidv7(),
      comparisonEventId: uuidv7(),
      judgeModel: shadow.judgeModel,
      judgeUsageEventId: uuidv7(),
    });
  }
}

import {
  modelCallRecordedEvent,
  reasoningTraceRecordedEvent,
  taskAcceptedEvent,
  taskCompletedEvent,
  taskTriagedEvent,
  uuidv7,
} from '@deliberate/contracts';
import type { AuditHarness } from './audit-harness';

const usage = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 50, reasoningTokens: 20 };

/** Publishes the events of one task answered by the reasoning model; returns the task id and the event ids. */
export async function publishTask(
  h: AuditHarness,
  tenantId: string,
  options: { input?: string; metadata?: Record<string, string> } = {},
): Promise<{ taskId: string; eventIds: string[] }> {
  const taskId = uuidv7();
  const input = options.input ?? 'Should we approve the loan?';
  const spec = {
    input,
    context: [{ id: 'doc-1', title: 'application', content: 'Applicant income 50k' }],
    mode: 'auto' as const,
    latencyBudgetMs: null,
    maxCostMicroUsd: null,
    webhookUrl: null,
    metadata: options.metadata ?? { product: 'loan' },
  };
  const now = new Date().toISOString();
  const decision = {
    route: 'reasoning' as const,
    decidedBy: 'model' as const,
    rule: null,
    classification: null,
    reason: 'complex',
  };
  const eventIds = [
    await h.publish(taskAcceptedEvent, {
      tenantId,
      taskId,
      data: { spec, submittedVia: 'http', acceptedAt: now },
    }),
    await h.publish(taskTriagedEvent, { tenantId, taskId, data: { decision, triagedAt: now } }),
    await h.publish(reasoningTraceRecordedEvent, {
      tenantId,
      taskId,
      data: {
        executionId: uuidv7(),
        attempt: 1,
        tier: 'reasoning',
        model: 'sim-reasoner',
        prompt: [{ role: 'user', content: input }],
        contextSelection: null,
        trace: 'income is fine',
        providerReasoning: null,
        answer: 'approve',
        parse: 'tagged',
        finishReason: 'stop',
        usage,
        outcome: 'answered',
        recordedAt: now,
      },
    }),
    await h.publish(modelCallRecordedEvent, {
      tenantId,
      taskId,
      data: {
        callId: uuidv7(),
        tier: 'reasoning',
        model: 'sim-reasoner',
        purpose: 'reason',
        usage,
        latencyMs: 1200,
        outcome: 'ok',
        finishReason: 'stop',
        errorMessage: null,
      },
    }),
    await h.publish(taskCompletedEvent, {
      tenantId,
      taskId,
      data: {
        result: {
          answer: 'approve',
          answeredBy: 'reasoning_model',
          model: 'sim-reasoner',
          usage,
          latencyMs: 1500,
          degraded: null,
        },
        completedAt: now,
      },
    }),
  ];
  return { taskId, eventIds };
}

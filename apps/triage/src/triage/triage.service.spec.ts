import {
  type EventDefinition,
  type EventEnvelope,
  type TaskAccepted,
  taskCompletedEvent,
  taskFailedEvent,
  taskTriagedEvent,
  reasoningRequestedEvent,
  modelCallRecordedEvent,
} from '@deliberate/contracts';
import type { EventPublisher } from '@deliberate/kafka';
import type { BreakerState, BreakerStateCache } from '@deliberate/ledger-client';
import {
  ModelCallError,
  type CompleteRequest,
  type ModelCallResult,
  type ModelClient,
} from '@deliberate/llm';
import type { ModelTier } from '@deliberate/contracts';
import type { TriageConfig } from '../config';
import { ContextRanker } from './context-ranker';
import { ModelUsageRecorder } from './model-usage.recorder';
import { TriageService } from './triage.service';

// Small fakes: a model that answers by script, a publisher that records, a breaker view set by the test.
class FakeModels {
  calls: CompleteRequest[] = [];
  constructor(private readonly answer: (req: CompleteRequest) => ModelCallResult | Error) {}
  modelOf(): string {
    return 'fake-fast';
  }
  complete(tier: ModelTier, req: CompleteRequest): Promise<ModelCallResult> {
    this.calls.push(req);
    const r = this.answer(req);
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  }
}

class RecordingPublisher {
  published: { topic: string; data: unknown }[] = [];
  publish(definition: EventDefinition, input: { data: unknown }): Promise<unknown> {
    this.published.push({ topic: definition.topic, data: input.data });
    return Promise.resolve({});
  }
  topics(): string[] {
    return this.published.map((p) => p.topic);
  }
}

const result = (content: string): ModelCallResult => ({
  tier: 'fast',
  model: 'fake-fast',
  content,
  finishReason: 'stop',
  usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 5, reasoningTokens: 0 },
  latencyMs: 3,
  reasoningContent: null,
  requestId: null,
});

const event = (input: string, mode: 'auto' | 'fast' | 'reasoning' = 'auto'): EventEnvelope<TaskAccepted> => ({
  specversion: '1.0',
  id: 'e1',
  type: 'tasks.task.accepted.v1',
  source: 'test',
  time: new Date().toISOString(),
  tenantId: 'acme',
  taskId: '01a216d7-01b8-724f-96cc-d380afcaa42e',
  data: {
    spec: {
      input,
      context: [],
      mode,
      latencyBudgetMs: null,
      maxCostMicroUsd: null,
      maxThinkingTokens: null,
      reasoningEffort: null,
      webhookUrl: null,
      project: null,
      apiKeyId: null,
      metadata: {},
    },
    submittedVia: 'http',
    acceptedAt: new Date().toISOString(),
  },
});

function setup(
  answer: (req: CompleteRequest) => ModelCallResult | Error,
  breaker: Partial<BreakerState> = {},
) {
  const models = new FakeModels(answer);
  const publisher = new RecordingPublisher();
  const breakers = {
    state: () => ({ open: false, policy: null, reason: null, retryAt: null, ...breaker }),
  } as unknown as BreakerStateCache;
  const usage = new ModelUsageRecorder(publisher as unknown as EventPublisher);
  // Tasks here carry no context, so the ranker is never asked; a real one over the same fakes keeps the wiring honest.
  const ranker = new ContextRanker(models as unknown as ModelClient, usage, {
    TRIAGE_CONTEXT_TOP_K: 2,
  } as TriageConfig);
  const service = new TriageService(
    models as unknown as ModelClient,
    publisher as unknown as EventPublisher,
    usage,
    breakers,
    ranker,
  );
  return { models, publisher, service };
}

describe('TriageService', () => {
  it('answers a task classified simple with the fast model and records both calls', async () => {
    const { service, publisher, models } = setup((req) =>
      req.responseFormat ? result('{"complexity":"simple","reason":"a lookup"}') : result('Paris'),
    );
    await service.triage(event('Capital of France?'));
    expect(models.calls).toHaveLength(2);
    expect(publisher.topics().sort()).toEqual(
      [
        modelCallRecordedEvent.topic,
        modelCallRecordedEvent.topic,
        taskTriagedEvent.topic,
        taskCompletedEvent.topic,
      ].sort(),
    );
    const completed = publisher.published.find((p) => p.topic === taskCompletedEvent.topic)!.data as {
      result: { answer: string; answeredBy: string };
    };
    expect(completed.result).toMatchObject({ answer: 'Paris', answeredBy: 'fast_model' });
  });

  it('sends a task classified complex to the reasoning tier without answering it', async () => {
    const { service, publisher, models } = setup(() => result('{"complexity":"complex","reason":"a proof"}'));
    await service.triage(event('Prove it.'));
    expect(models.calls).toHaveLength(1);
    expect(publisher.topics()).toContain(reasoningRequestedEvent.topic);
    expect(publisher.topics()).not.toContain(taskCompletedEvent.topic);
  });

  it('treats unparseable classifier output as complex, with the reason', async () => {
    const { service, publisher } = setup(() => result('definitely simple!'));
    await service.triage(event('Hmm?'));
    const triaged = publisher.published.find((p) => p.topic === taskTriagedEvent.topic)!.data as {
      decision: { route: string; decidedBy: string; reason: string };
    };
    expect(triaged.decision).toMatchObject({ route: 'reasoning', decidedBy: 'fallback' });
    expect(triaged.decision.reason).toContain('expected JSON');
  });

  it('fails the task when the fast model keeps failing, and still records the failed call', async () => {
    const error = new ModelCallError('boom', {
      kind: 'server_error',
      retryable: true,
      tier: 'fast',
      model: 'fake-fast',
      status: 500,
      code: null,
      requestId: null,
      retryAfterMs: null,
      cause: null,
    });
    const { service, publisher } = setup(() => error);
    await service.triage(event('Hi', 'fast'));
    const failed = publisher.published.find((p) => p.topic === taskFailedEvent.topic)!.data as {
      error: { code: string };
    };
    expect(failed.error.code).toBe('fast_model_unavailable');
    const usage = publisher.published.find((p) => p.topic === modelCallRecordedEvent.topic)!.data as {
      outcome: string;
    };
    expect(usage.outcome).toBe('error');
  });

  it('refuses paid work while the tenant cost breaker is open under the fail policy', async () => {
    const { service, publisher, models } = setup(() => result('never'), {
      open: true,
      policy: 'fail',
      reason: 'spend_rate',
    });
    await service.triage(event('Anything', 'reasoning'));
    expect(models.calls).toHaveLength(0);
    expect(publisher.topics()).toEqual([taskFailedEvent.topic]);
    const failed = publisher.published[0]!.data as { error: { code: string; message: string } };
    expect(failed.error.code).toBe('budget_exceeded');
    expect(failed.error.message).toContain('spend_rate');
  });

  it('routes to the cheap tier without classifying while the breaker is open under route_cheap', async () => {
    const { service, publisher, models } = setup(() => result('cheap answer'), {
      open: true,
      policy: 'route_cheap',
      reason: 'budget_exhausted',
    });
    await service.triage(event('Prove the theorem step by step.', 'reasoning'));
    expect(models.calls).toHaveLength(1);
    expect(models.calls[0]!.responseFormat).toBeUndefined();
    const triaged = publisher.published.find((p) => p.topic === taskTriagedEvent.topic)!.data as {
      decision: { route: string; rule: string };
    };
    expect(triaged.decision).toMatchObject({ route: 'fast', rule: 'cost-breaker' });
    expect(publisher.topics()).toContain(taskCompletedEvent.topic);
  });
});

import {
  complexityClassificationSchema,
  type EventEnvelope,
  reasoningRequestedEvent,
  type TaskAccepted,
  taskCompletedEvent,
  taskFailedEvent,
  taskTriagedEvent,
  type TriageDecision,
} from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { BreakerStateCache } from '@deliberate/ledger-client';
import { ModelCallError, ModelClient } from '@deliberate/llm';
import { Injectable, Logger } from '@nestjs/common';
import {
  ANSWER_SYSTEM_PROMPT,
  CLASSIFICATION_JSON_SCHEMA,
  classifierMessages,
  taskMessages,
} from './task-prompt';
import { decideByRules } from './triage-policy';
import { ContextRanker } from './context-ranker';
import { ModelUsageRecorder } from './model-usage.recorder';

@Injectable()
export class TriageService {
  private readonly logger = new Logger(TriageService.name);

  constructor(
    private readonly models: ModelClient,
    private readonly publisher: EventPublisher,
    private readonly usage: ModelUsageRecorder,
    private readonly breakers: BreakerStateCache,
    private readonly contextRanker: ContextRanker,
  ) {}

  async triage(event: EventEnvelope<TaskAccepted>): Promise<void> {
    const { tenantId } = event;
    const taskId = event.taskId!;
    const breaker = this.breakers.state(tenantId);
    if (breaker.open && breaker.policy !== 'route_cheap') {
      // The tenant's cost breaker refuses new paid work, the fast model's included: fail fast and say why.
      await this.publisher.publish(taskFailedEvent, {
        tenantId,
        taskId,
        data: {
          error: {
            code: 'budget_exceeded',
            message: `the tenant's cost circuit breaker is open (${breaker.reason ?? 'budget'}); retry after ${breaker.retryAt ?? 'it closes'}`,
          },
          failedAt: new Date().toISOString(),
        },
      });
      return;
    }
    const decision = breaker.open ? cheapTierDecision(breaker.reason) : await this.decide(event);
    // Published without waiting: the producer batches it with what follows, saving a broker round trip per task.
    const triaged = this.publisher.publish(taskTriagedEvent, {
      tenantId,
      taskId,
      data: { decision, triagedAt: new Date().toISOString() },
    });
    if (decision.route === 'reasoning') {
      const selected = await this.contextRanker.select(event);
      await Promise.all([
        triaged,
        this.publisher.publish(reasoningRequestedEvent, {
          tenantId,
          taskId,
          data: {
            spec: selected.spec,
            decision,
            contextSelection: selected.selection,
            requestedAt: new Date().toISOString(),
          },
        }),
      ]);
      return;
    }
    await Promise.all([triaged, this.answerFast(event)]);
  }

  private async decide(event: EventEnvelope<TaskAccepted>): Promise<TriageDecision> {
    const rule = decideByRules(event.data.spec);
    if (rule)
      return {
        route: rule.route,
        decidedBy: 'rule',
        rule: rule.rule,
        classification: null,
        reason: rule.reason,
      };

    const started = Date.now();
    const classifyPrompt = classifierMessages(event.data.spec);
    try {
      const r = await this.models.complete('fast', {
        messages: classifyPrompt,
        responseFormat: { type: 'json_schema', json_schema: CLASSIFICATION_JSON_SCHEMA },
        maxCompletionTokens: 300,
      });
      await this.usage.recordSuccess(event.tenantId, event.taskId!, 'fast', 'classify', classifyPrompt, r);
      const classification = parseClassification(r.content);
      if (!classification) {
        return {
          route: 'reasoning',
          decidedBy: 'fallback',
          rule: null,
          classification: null,
          reason:
            'the classifier answered with something other than the expected JSON; the reasoning tier is the safe default',
        };
      }
      return {
        route: classification.complexity === 'complex' ? 'reasoning' : 'fast',
        decidedBy: 'model',
        rule: null,
        classification,
        reason: `classified ${classification.complexity} by ${r.model}: ${classification.reason}`,
      };
    } catch (e) {
      await this.usage.recordFailure(
        event.tenantId,
        event.taskId!,
        'fast',
        this.models.modelOf('fast'),
        'classify',
        classifyPrompt,
        e,
        Date.now() - started,
      );
      this.logger.warn({ msg: 'classifier unavailable', taskId: event.taskId, error: (e as Error).message });
      return {
        route: 'reasoning',
        decidedBy: 'fallback',
        rule: null,
        classification: null,
        reason: `the classifier was unavailable (${describe(e)}); the reasoning tier is the safe default`,
      };
    }
  }

  private async answerFast(event: EventEnvelope<TaskAccepted>): Promise<void> {
    const { tenantId } = event;
    const taskId = event.taskId!;
    const started = Date.now();
    const answerPrompt = taskMessages(event.data.spec, ANSWER_SYSTEM_PROMPT);
    try {
      const r = await this.models.complete('fast', { messages: answerPrompt });
      // Usage and completion go out in one producer batch; the handler finishes when both are acknowledged.
      await Promise.all([
        this.usage.recordSuccess(tenantId, taskId, 'fast', 'answer', answerPrompt, r),
        this.publisher.publish(taskCompletedEvent, {
          tenantId,
          taskId,
          data: {
            result: {
              answer: r.content,
              answeredBy: 'fast_model',
              model: r.model,
              usage: r.usage,
              latencyMs: Date.now() - started,
              degraded:
                r.finishReason === 'length'
                  ? { reason: 'the answer was cut at the output token limit' }
                  : null,
            },
            completedAt: new Date().toISOString(),
          },
        }),
      ]);
    } catch (e) {
      if (!(e instanceof ModelCallError)) throw e;
      await Promise.all([
        this.usage.recordFailure(
          tenantId,
          taskId,
          'fast',
          this.models.modelOf('fast'),
          'answer',
          answerPrompt,
          e,
          Date.now() - started,
        ),
        this.publisher.publish(taskFailedEvent, {
          tenantId,
          taskId,
          data: {
            error: {
              code: 'fast_model_unavailable',
              message: `the fast model failed after retries: ${describe(e)}`,
            },
            failedAt: new Date().toISOString(),
          },
        }),
      ]);
    }
  }
}

// While the breaker is open under a `route_cheap` policy, only the fast tier runs, and no classifier call is spent.
function cheapTierDecision(reason: string | null): TriageDecision {
  return {
    route: 'fast',
    decidedBy: 'rule',
    rule: 'cost-breaker',
    classification: null,
    reason: `the tenant's cost circuit breaker is open (${reason ?? 'budget'}); its policy routes work to the cheap tier`,
  };
}

function parseClassification(content: string) {
  try {
    const parsed = complexityClassificationSchema.safeParse(JSON.parse(content));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function describe(e: unknown): string {
  return e instanceof ModelCallError ? `${e.kind}: ${e.message}` : (e as Error).message;
}

import {
  type BudgetDeniedAction,
  complexityClassificationSchema,
  type EventEnvelope,
  reasoningRequestedEvent,
  type TaskAccepted,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskTriagedEvent,
  type TriageDecision,
  uuidv7,
} from '@deliberate/contracts';
import { PermanentError } from '@deliberate/kafka';
import { BreakerStateCache } from '@deliberate/ledger-client';
import { ModelCallError, type ModelCallResult } from '@deliberate/llm';
import { Outbox, type OutboxDraft, OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { jitteredBackoffMs, sleep } from '@deliberate/retry';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { TRIAGE_CONFIG, type TriageConfig } from '../config';
import { type TriageTask, TriageTaskRepository } from '../tasks/triage-task.repository';
import { denialVerdict, nextTry, taskDeadline } from './call-retry';
import { ContextRanker } from './context-ranker';
import {
  BudgetDeniedError,
  CallClaimLostError,
  ReservationRefusedError,
  RetryLaterError,
  TaskDeadlineError,
} from './fast-call.errors';
import { type FastCallRequest, FastCalls } from './fast-calls';
import {
  ANSWER_SYSTEM_PROMPT,
  CLASSIFICATION_JSON_SCHEMA,
  classifierMessages,
  taskMessages,
} from './task-prompt';
import { TriageMetrics } from './triage-metrics';
import { decideByRules } from './triage-policy';

// How often a handler looks again at a task whose call another handler holds (bounded by that claim's expiry).
const CLAIM_POLL_MS = 250;
// The longest wait between two tries of a task's call.
const MAX_RETRY_DELAY_MS = 5_000;

/** Another handler finished the task, or took its call over, first: this one's result is not the task's. */
class LostRace extends Error {}

type Accepted = EventEnvelope<TaskAccepted>;

/** One delivery of an accepted event: the task's record as last read, and the name its claims go under. */
interface Delivery {
  event: Accepted;
  owner: string;
}

// Triages each accepted task exactly once, however often its event is delivered: the task's record holds the
// decision (stored before any call that depends on it), the call in progress (claimed, so only one handler pays
// for it) and the terminal event (written to the outbox in the transaction that finishes the task, so its id is
// fixed once). A delivery of a finished task does nothing; one that finds another's call in progress waits for it.
@Injectable()
export class TriageService {
  private readonly logger = new Logger(TriageService.name);

  constructor(
    private readonly sql: Sql,
    private readonly tasks: TriageTaskRepository,
    private readonly calls: FastCalls,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly breakers: BreakerStateCache,
    private readonly contextRanker: ContextRanker,
    private readonly policies: TenantPolicyCache,
    private readonly metrics: TriageMetrics,
    @Inject(TRIAGE_CONFIG) private readonly config: TriageConfig,
  ) {}

  /** Triages a delivered accepted event; returns once the task is finished or waits for a later try. */
  async triage(event: Accepted): Promise<void> {
    await this.drive(event, false);
  }

  /** Resumes a task the retry job took because its next try is due (its lease is the task's retry_at). */
  async resume(event: Accepted): Promise<void> {
    await this.drive(event, true);
  }

  private async drive(event: Accepted, resumed: boolean): Promise<void> {
    const taskId = event.taskId!;
    const delivery: Delivery = { event, owner: `${this.config.TRIAGE_INSTANCE_ID}/${uuidv7()}` };
    const deadlineAt = taskDeadline(
      event.data.acceptedAt,
      event.data.spec.latencyBudgetMs,
      this.config.TRIAGE_DEFAULT_DEADLINE_MS,
    );
    let task: TriageTask | undefined;
    for (let failures = 0; ;) {
      try {
        task ??= await this.tasks.insertOrRead({
          taskId,
          tenantId: event.tenantId,
          acceptedAt: new Date(event.data.acceptedAt),
          deadlineAt,
          event,
        });
        // The task id is another tenant's (a forged or mistaken event): its record is neither read nor moved for
        // this tenant, and the reason names no one else's tenant.
        if (task.tenantId !== event.tenantId) {
          throw new PermanentError(`task id ${taskId} is already recorded for another tenant`);
        }
        // A redelivery of a finished task: its terminal event is in the outbox already, under its one id.
        if (task.state === 'finished') return;
        // A task waiting for its next try belongs to the retry job: a delivery of it does nothing.
        if (!resumed && task.retryAt !== null) return;
        if (this.heldByAnother(task, delivery.owner)) {
          await sleep(Math.max(1, Math.min(CLAIM_POLL_MS, task.claimExpiresAt!.getTime() - Date.now())));
        } else {
          if (resumed) await this.tasks.extendRetryLease(taskId, this.retryLeaseMs());
          if ((await this.step(delivery, task)) === 'waiting') return;
        }
        task = await this.tasks.read(taskId);
        failures = 0;
      } catch (e) {
        if (e instanceof PermanentError) throw e;
        // Postgres or the broker away for a moment is an outage every task shares, so it is waited out here, until
        // the deadline, from the task's record as it stands.
        failures += 1;
        const delayMs = jitteredBackoffMs(failures, this.config.TRIAGE_RETRY_BASE_MS, 5_000);
        if (Date.now() + delayMs >= deadlineAt.getTime()) throw e;
        this.logger.warn({ msg: 'triage step failed; trying again', taskId, error: (e as Error).message });
        await sleep(delayMs);
        task = undefined;
      }
    }
  }

  // The retry job's hold on a task it resumes: as long as one call may take, renewed before each step.
  private retryLeaseMs(): number {
    return this.config.TRIAGE_CALL_TIMEOUT_MS + this.config.TRIAGE_CLAIM_MARGIN_MS;
  }

  private heldByAnother(task: TriageTask, owner: string): boolean {
    return (
      task.claimOwner !== null &&
      task.claimOwner !== owner &&
      task.claimExpiresAt !== null &&
      task.claimExpiresAt.getTime() > Date.now()
    );
  }

  /**
   * One move of the task's state machine; the caller reads the record again after it, whoever made the next move.
   * `waiting`: the task waits in its record for a later try, which the retry job makes.
   */
  private async step(delivery: Delivery, task: TriageTask): Promise<'moved' | 'waiting'> {
    try {
      if (task.state === 'triaging') await this.decide(delivery, task);
      else await this.conclude(delivery, task);
    } catch (e) {
      if (e instanceof CallClaimLostError || e instanceof LostRace) return 'moved';
      if (e instanceof RetryLaterError) return this.retryLater(delivery, task, e);
      const verdict = this.verdictOf(delivery.event, e);
      if (!verdict) throw e;
      await this.finish(delivery, task, [verdict]);
    }
    return 'moved';
  }

  // Schedules the task's next try in its record and gives its claim up, so this handler returns; past the deadline
  // the task fails, naming what was down.
  private async retryLater(
    delivery: Delivery,
    task: TriageTask,
    e: RetryLaterError,
  ): Promise<'moved' | 'waiting'> {
    const next = nextTry({
      now: Date.now(),
      deadlineAt: task.deadlineAt,
      retryAttempts: task.retryAttempts,
      retryAfterMs: e.retryAfterMs,
      baseMs: this.config.TRIAGE_RETRY_BASE_MS,
      maxMs: MAX_RETRY_DELAY_MS,
    });
    if (next.kind === 'give_up') {
      await this.finish(delivery, task, [
        this.verdictOf(delivery.event, new TaskDeadlineError(e.what, e.detail))!,
      ]);
      return 'moved';
    }
    const scheduled = await this.tasks.scheduleRetry(task.taskId, delivery.owner, {
      retryAt: next.retryAt,
      error: `${e.what}: ${e.detail}`,
      sameAttempt: e.sameAttempt,
    });
    if (!scheduled) return 'moved';
    this.logger.warn({
      msg: 'a call failed; the task waits for its next try',
      taskId: task.taskId,
      retryAt: next.retryAt.toISOString(),
      error: e.message,
    });
    return 'waiting';
  }

  // Stores the decision, with its task.triaged event, before any call that depends on it.
  private async decide(delivery: Delivery, task: TriageTask): Promise<void> {
    const { event } = delivery;
    const breaker = this.breakers.state(event.tenantId);
    const onDenied = this.onBudgetDenied(event.tenantId);
    if (breaker.open && onDenied !== 'route_cheap') {
      // The tenant's cost breaker refuses new paid work, the fast model's included: nothing is spent.
      const message = `the tenant's cost circuit breaker is open (${breaker.reason ?? 'budget'}); retry after ${breaker.retryAt ?? 'it closes'}`;
      await this.finish(delivery, task, [this.deniedOutcome(event, onDenied, message, 'fast:breaker_open')]);
      return;
    }
    const decision = breaker.open
      ? cheapTierDecision(breaker.reason)
      : await this.decideByRulesOrModel(delivery, task);
    if (!decision) return;
    const published = await this.sql.transaction(async (tx) => {
      if (!(await this.tasks.recordDecision(tx, task.taskId, delivery.owner, decision))) return [];
      return [
        await this.outbox.add(
          tx,
          taskTriagedEvent,
          { decision, triagedAt: new Date().toISOString() },
          { tenantId: event.tenantId, taskId: task.taskId },
        ),
      ];
    });
    // Counted once it is committed, by the one handler that recorded it: a redelivery finds it recorded already.
    if (published.length > 0) this.metrics.decided(decision);
    await this.relay.publish(published);
  }

  /** Undefined when another handler holds the classifier's claim. */
  private async decideByRulesOrModel(
    delivery: Delivery,
    task: TriageTask,
  ): Promise<TriageDecision | undefined> {
    const { event } = delivery;
    const rule = decideByRules(event.data.spec, this.policies.policyOf(event.tenantId));
    if (rule)
      return {
        route: rule.route,
        decidedBy: 'rule',
        rule: rule.rule,
        classification: null,
        reason: rule.reason,
      };

    let r: ModelCallResult | undefined;
    try {
      r = await this.calls.call({
        ...this.callOf(delivery, task, 'classify'),
        messages: classifierMessages(event.data.spec),
        responseFormat: { type: 'json_schema', json_schema: CLASSIFICATION_JSON_SCHEMA },
        maxCompletionTokens: this.config.TRIAGE_CLASSIFY_MAX_COMPLETION_TOKENS,
        maxTries: 1 + this.config.LLM_MAX_RETRIES,
      });
    } catch (e) {
      if (!(e instanceof ModelCallError)) throw e;
      // A routing choice, not a verdict: the reasoning tier can answer what the classifier could not sort.
      this.logger.warn({ msg: 'classifier unavailable', taskId: event.taskId, error: e.message });
      return {
        route: 'reasoning',
        decidedBy: 'fallback',
        rule: null,
        classification: null,
        reason: `the classifier was unavailable (${describe(e)}); the reasoning tier is the safe default`,
      };
    }
    if (!r) return undefined;
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
  }

  // The decided task's one terminal move: handed to the reasoning tier, or answered by the fast model.
  private async conclude(delivery: Delivery, task: TriageTask): Promise<void> {
    const { event } = delivery;
    const decision = task.decision!;
    const address = { tenantId: event.tenantId, taskId: task.taskId };
    if (decision.route === 'reasoning') {
      const selected = await this.contextRanker.select(event, async (prompt, options) => {
        const r = await this.calls.call({
          ...this.callOf(delivery, task, 'rank-context'),
          messages: prompt,
          responseFormat: options.responseFormat,
          maxCompletionTokens: this.config.TRIAGE_RANK_MAX_COMPLETION_TOKENS,
          maxTries: 1 + this.config.LLM_MAX_RETRIES,
        });
        // Another handler is ranking: this one stops here and follows the task's record.
        if (!r) throw new LostRace();
        return r;
      });
      await this.finish(delivery, task, [
        {
          event: reasoningRequestedEvent,
          data: {
            spec: selected.spec,
            decision,
            contextSelection: selected.selection,
            requestedAt: new Date().toISOString(),
          },
          ...address,
        },
      ]);
      return;
    }
    const started = Date.now();
    let r: ModelCallResult | undefined;
    try {
      r = await this.calls.call({
        ...this.callOf(delivery, task, 'answer'),
        messages: taskMessages(event.data.spec, ANSWER_SYSTEM_PROMPT),
        maxCompletionTokens: this.config.TRIAGE_ANSWER_MAX_COMPLETION_TOKENS,
      });
    } catch (e) {
      if (!(e instanceof ModelCallError)) throw e;
      // Only an error no retry can mend ends here: retryable ones wait for their next try in the task's record.
      await this.finish(delivery, task, [
        {
          event: taskFailedEvent,
          data: {
            error: {
              code: 'fast_model_unavailable',
              message: `the fast model refused the call: ${describe(e)}`,
            },
            failedAt: new Date().toISOString(),
          },
          ...address,
        },
      ]);
      return;
    }
    if (!r) return;
    await this.finish(delivery, task, [
      {
        event: taskCompletedEvent,
        data: {
          result: {
            answer: r.content,
            answeredBy: 'fast_model',
            model: r.model,
            usage: r.usage,
            latencyMs: Date.now() - started,
            degraded:
              r.finishReason === 'length' ? { reason: 'the answer was cut at the output token limit' } : null,
          },
          completedAt: new Date().toISOString(),
        },
        ...address,
      },
    ]);
  }

  private callOf(
    delivery: Delivery,
    task: TriageTask,
    purpose: string,
  ): Pick<FastCallRequest, 'task' | 'owner' | 'purpose' | 'apiKeyId' | 'project' | 'taskCeilingMicroUsd'> {
    const { spec } = delivery.event.data;
    return {
      task,
      owner: delivery.owner,
      purpose,
      apiKeyId: spec.apiKeyId,
      project: spec.project,
      taskCeilingMicroUsd: spec.maxCostMicroUsd,
    };
  }

  /**
   * Writes the task's terminal event (the first draft) and marks the task finished with its id, in one transaction,
   * then publishes. When another handler finished the task or holds its claim, nothing is written.
   */
  private async finish(delivery: Delivery, task: TriageTask, drafts: OutboxDraft[]): Promise<void> {
    let published;
    try {
      published = await this.sql.transaction(async (tx) => {
        const messages = await this.outbox.addMany(tx, drafts);
        const terminal = messages[0]!;
        const finished = await this.tasks.finish(tx, task.taskId, delivery.owner, {
          topic: terminal.topic,
          eventId: terminal.id,
        });
        if (!finished) throw new LostRace();
        return messages;
      });
    } catch (e) {
      if (e instanceof LostRace) return;
      throw e;
    }
    await this.relay.publish(published);
    if (task.reservationId && task.claimOwner !== delivery.owner) {
      // Finished over the expired claim of a handler that stopped mid-call (a breaker opened meanwhile, say).
      await this.calls.settleAborted(task.reservationId, 'the task finished without the call');
    }
  }

  // What a call that ended without an answer makes of the task; undefined for an error that is not a verdict.
  private verdictOf(event: Accepted, e: unknown): OutboxDraft | undefined {
    const address = { tenantId: event.tenantId, taskId: event.taskId! };
    const failed = (code: string, message: string): OutboxDraft => ({
      event: taskFailedEvent,
      data: { error: { code, message: message.slice(0, 4000) }, failedAt: new Date().toISOString() },
      ...address,
    });
    if (e instanceof TaskDeadlineError) return failed('deadline_exceeded', e.message);
    if (e instanceof BudgetDeniedError) {
      return this.deniedOutcome(
        event,
        this.onBudgetDenied(event.tenantId),
        `the ledger denied the fast model's hold (${e.reason}): ${e.message}`,
        `fast:${e.reason}`,
      );
    }
    if (e instanceof ReservationRefusedError) {
      return failed(
        'reservation_refused',
        `the ledger refused the fast model's hold (${e.reason}): ${e.message}`,
      );
    }
    return undefined;
  }

  // A real denial follows the tenant's policy: fail the task, or (`human`) hand it to a person, saying why.
  private deniedOutcome(
    event: Accepted,
    action: BudgetDeniedAction,
    message: string,
    attempt: string,
  ): OutboxDraft {
    const address = { tenantId: event.tenantId, taskId: event.taskId! };
    if (denialVerdict(action) === 'escalate') {
      return {
        event: taskEscalatedEvent,
        data: {
          reason: `budget denied, and the tenant's policy sends such tasks to a person: ${message}`.slice(
            0,
            4000,
          ),
          attempts: [attempt],
          escalatedAt: new Date().toISOString(),
        },
        ...address,
      };
    }
    return {
      event: taskFailedEvent,
      data: {
        error: { code: 'budget_exceeded', message: message.slice(0, 4000) },
        failedAt: new Date().toISOString(),
      },
      ...address,
    };
  }

  // What a denial does is the tenant's policy, read by this process from tenants.policy.updated.v1.
  private onBudgetDenied(tenantId: string): BudgetDeniedAction {
    return this.policies.policyOf(tenantId).onBudgetDenied;
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

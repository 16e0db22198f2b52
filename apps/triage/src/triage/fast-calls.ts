import { type ChatMessage, type SettleRequest, uuidv7, ZERO_USAGE } from '@deliberate/contracts';
import { CallReservations } from '@deliberate/ledger-client';
import {
  inputTokenUpperBound,
  ModelClient,
  type CompleteRequest,
  type ModelCallResult,
} from '@deliberate/llm';
import { jitteredBackoffMs, sleep } from '@deliberate/retry';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { TRIAGE_CONFIG, type TriageConfig } from '../config';
import type { TriageTask } from '../tasks/triage-task.repository';
import { TriageTaskRepository } from '../tasks/triage-task.repository';
import { isBudgetDenial, isRetryableModelError, mayHaveBeenBilled } from './call-retry';
import {
  BudgetDeniedError,
  CallClaimLostError,
  ReservationRefusedError,
  RetryLaterError,
  TaskDeadlineError,
} from './fast-call.errors';
import { ModelUsageRecorder, type RecordedCall } from './model-usage.recorder';

const MAX_RETRY_DELAY_MS = 5_000;

/** One fast-model call of a task, as its caller describes it. */
export interface FastCallRequest {
  task: TriageTask;
  /** The handler making the call, as named on its claim: one per delivery, so two deliveries never share one. */
  owner: string;
  /** `classify`, `rank-context`, `answer`: names the call in its reservation key and usage event. */
  purpose: string;
  messages: ChatMessage[];
  maxCompletionTokens: number;
  responseFormat?: CompleteRequest['responseFormat'];
  /** Tries of a call failing with a retryable error; unset = until the task's deadline. */
  maxTries?: number;
  /** The task's project and API key, checked against their budgets by every reserve. */
  apiKeyId: string | null;
  project: string | null;
  taskCeilingMicroUsd: number | null;
}

// Every fast-model call runs under a claim on the task's record and a ledger hold for its worst case: the claim
// stops a second handler (a redelivery, another replica) from calling too; the hold keeps spend under the budget.
// A claim's owner that crashed mid-call leaves it to expire; whoever takes it over books that call at its worst case.
// A ledger or model that does not answer is asked again, with backoff, until the task's deadline: from the task's
// record (RetryLaterError), except the bounded tries of a call the task can do without (classify, rank).
@Injectable()
export class FastCalls {
  private readonly logger = new Logger(FastCalls.name);
  private readonly model: string;

  constructor(
    private readonly tasks: TriageTaskRepository,
    private readonly reservations: CallReservations,
    private readonly models: ModelClient,
    private readonly usage: ModelUsageRecorder,
    @Inject(TRIAGE_CONFIG) private readonly config: TriageConfig,
  ) {
    this.model = models.modelOf('fast');
  }

  /**
   * Claims the task's next call and makes it, under a hold. Undefined when another handler holds the claim (the
   * caller waits for it and reads the task again). Throws BudgetDeniedError, ReservationRefusedError,
   * TaskDeadlineError, CallClaimLostError, RetryLaterError (a retryable failure the task's record waits out), or
   * the last ModelCallError of a call with maxTries once they are spent.
   * On success the caller still holds the claim: it records the result and gives the claim up in one transaction.
   */
  async call(request: FastCallRequest): Promise<ModelCallResult | undefined> {
    const { taskId } = request.task;
    const claimed = await this.tasks.claimCall(taskId, request.owner, request.purpose, this.claimMs());
    if (!claimed) return undefined;
    if (claimed.abandonedReservationId) {
      // The try before this one ended unseen (its handler stopped mid-call, or this one lost its result to an
      // outage): the provider may have billed it, so it is booked at its worst case.
      await this.settleAborted(claimed.abandonedReservationId, 'the handler making the call stopped');
    }
    let attempt = claimed.task.callAttempt;
    for (let tries = 1; ; tries += 1) {
      const outcome = await this.tryOnce(request, attempt);
      if (outcome.ok) return outcome.result;
      const error = outcome.error;
      if (!isRetryableModelError(error)) throw error;
      // A call the task cannot do without waits for its next try in the task's record, so the handler returns and
      // the tasks behind it on its partition go on; the retry job resumes it when the try is due.
      if (request.maxTries === undefined) {
        throw new RetryLaterError(
          'the fast model',
          `${error.kind}: ${error.message}`,
          error.retryAfterMs,
          false,
        );
      }
      if (tries >= request.maxTries) throw error;
      const delayMs = Math.max(
        error.retryAfterMs ?? 0,
        jitteredBackoffMs(tries, this.config.TRIAGE_RETRY_BASE_MS, MAX_RETRY_DELAY_MS),
      );
      if (Date.now() + delayMs >= request.task.deadlineAt.getTime()) {
        throw new TaskDeadlineError('the fast model', `${error.kind}: ${error.message}`);
      }
      // The wait and the next try stay under this handler's claim, as its next attempt.
      const next = await this.tasks.nextAttempt(taskId, request.owner, delayMs + this.claimMs());
      if (next === undefined) throw new CallClaimLostError(taskId);
      attempt = next;
      await sleep(delayMs);
    }
  }

  /** One try: reserve, call, record and settle. A failed call is settled before its error is handed back. */
  private async tryOnce(
    request: FastCallRequest,
    attempt: number,
  ): Promise<{ ok: true; result: ModelCallResult } | { ok: false; error: unknown }> {
    const { task, purpose, messages } = request;
    const reservationId = await this.reserve(request, attempt);
    if (!(await this.tasks.extendClaim(task.taskId, request.owner, this.claimMs(), reservationId))) {
      await this.release(reservationId, 'the call was taken over by another handler before it started');
      throw new CallClaimLostError(task.taskId);
    }
    const call: RecordedCall = {
      tenantId: task.tenantId,
      taskId: task.taskId,
      tier: 'fast',
      purpose,
      messages,
      usageEventId: uuidv7(),
      reservationId,
    };
    const started = performance.now();
    try {
      const result = await this.models.complete('fast', {
        messages,
        maxCompletionTokens: request.maxCompletionTokens,
        responseFormat: request.responseFormat,
        requestId: reservationId,
        // One try per call: the retries are this loop's, each under its own hold, within the task's deadline.
        maxRetries: 0,
        timeoutMs: this.callTimeoutMs(task),
      });
      // Under this try's own usage event id: if a taker settled this hold as abandoned meanwhile (this handler
      // stalled past its claim), the ledger books this real usage in place of that worst case, never both.
      await this.usage.recordSuccess(call, result);
      await this.settle({
        reservationId,
        usageEventId: call.usageEventId,
        model: result.model,
        usage: result.usage,
      });
      return { ok: true, result };
    } catch (error) {
      const aborted = mayHaveBeenBilled(error);
      await this.usage.recordFailure(call, this.model, error, performance.now() - started, aborted);
      await this.settle({
        reservationId,
        usageEventId: call.usageEventId,
        model: this.model,
        usage: ZERO_USAGE,
        aborted,
      });
      return { ok: false, error };
    }
  }

  // A ledger that does not answer is an outage: asked again from the task's record under the same key (one hold,
  // however many asks) until the task's deadline.
  private async reserve(request: FastCallRequest, attempt: number): Promise<string> {
    const { task, purpose, messages } = request;
    const reply = await this.reservations.reserve(
      {
        reservationKey: `${task.taskId}:triage:${purpose}:${attempt}`,
        tenantId: task.tenantId,
        taskId: task.taskId,
        apiKeyId: request.apiKeyId,
        project: request.project,
        model: this.model,
        tier: 'fast',
        estimatedInputTokens: inputTokenUpperBound(messages),
        maxOutputTokens: request.maxCompletionTokens,
        taskCeilingMicroUsd: request.taskCeilingMicroUsd,
        ttlMs: this.claimMs(),
      },
      // One ask (it waits LEDGER_TIMEOUT_MS for its reply): the task's record schedules the next.
      { deadlineAt: new Date() },
    );
    if (reply.approved) return reply.reservationId;
    if (isBudgetDenial(reply.reason)) throw new BudgetDeniedError(reply.reason, reply.message, reply.policy);
    if (reply.reason !== 'ledger_unavailable') throw new ReservationRefusedError(reply.reason, reply.message);
    throw new RetryLaterError('the ledger', reply.message, null, true);
  }

  /** Books the worst case of a call cut off before its usage was known; once, however often it is asked. */
  async settleAborted(reservationId: string, why: string): Promise<void> {
    this.logger.warn({ msg: 'settling an abandoned fast-model call as aborted', reservationId, why });
    await this.settle({
      reservationId,
      // One id per hold: a second handler settling the same abandoned call is a duplicate, not a second booking.
      usageEventId: `${reservationId}:aborted`,
      model: this.model,
      usage: ZERO_USAGE,
      aborted: true,
    });
  }

  // Settle and release are idempotent and retried by CallReservations; if the ledger stays down, the usage event
  // books the call and the ledger's sweeper frees the hold.
  private async settle(request: SettleRequest): Promise<void> {
    await this.reservations.settle(request);
  }

  private async release(reservationId: string, reason: string): Promise<void> {
    await this.reservations.release(reservationId, reason);
  }

  private claimMs(): number {
    return this.config.TRIAGE_CALL_TIMEOUT_MS + this.config.TRIAGE_CLAIM_MARGIN_MS;
  }

  // A try never runs past the task's deadline, nor for less than a second.
  private callTimeoutMs(task: TriageTask): number {
    return Math.max(
      1_000,
      Math.min(this.config.TRIAGE_CALL_TIMEOUT_MS, task.deadlineAt.getTime() - Date.now()),
    );
  }
}

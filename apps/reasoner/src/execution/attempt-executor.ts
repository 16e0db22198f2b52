import { type ServiceTier, type TokenUsage, uuidv7 } from '@deliberate/contracts';
import { CallReservations } from '@deliberate/ledger-client';
import {
  type BackgroundState,
  type CompleteRequest,
  inputTokenUpperBound,
  ModelCallError,
  type ModelCallResult,
  ModelClient,
} from '@deliberate/llm';
import { jitteredBackoffMs, sleep } from '@deliberate/retry';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { ExecutionEvents } from '../events/execution-events';
import { ReasonerMetrics } from './reasoner-metrics';
import { ModelBreakers } from '../models/model-breakers';
import { reasoningMessages } from '../thought/reasoning-prompt';
import { parseTrace } from '../thought/trace-parser';
import { nextPollStep, pollFailureAction } from './background-poll-plan';
import { type CallSignal, callSignal } from './call-signal';
import type {
  AttemptRecord,
  AttemptResult,
  CallTier,
  ExecutionState,
  FailureReason,
} from './execution-record';
import { type AttemptEnd, ExecutionRepository, LostOwnershipError } from './execution.repository';
import type { ServiceTierChoice } from './service-tier-choice';
import type { TaskLimits } from './task-limits';

/** The instance is shutting down: the call was cut off and the execution goes back to the pool. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted by shutdown');
    this.name = 'InterruptedError';
  }
}

const DAY_MS = 86_400_000;
// A hold outlives its call's deadline by this much, so a call answering at the last moment is still covered.
const RESERVATION_MARGIN_MS = 60_000;
// Retries of a call's end while the database is unreachable: soon at first, then every two seconds at most.
const END_RETRY_BASE_MS = 100;
const END_RETRY_MAX_MS = 2_000;
// One poll or cancel of a background call: short, since the loop around it polls again after a failure.
const POLL_TIMEOUT_MS = 30_000;
// Failed polls logged: the first, then every tenth.
const POLL_FAILURE_LOG_EVERY = 10;

type AbortCause = 'cancel' | 'shutdown' | 'lease_lost' | 'deadline';

/**
 * Orders the abort reasons of a call: the job's own (cancel, shutdown, a lost lease) win over our deadline. The call's
 * signal follows the job's, so when it is aborted and the job's is not, the deadline aborted it.
 */
function abortCause(job: AbortSignal, call: AbortSignal): AbortCause | null {
  if (job.aborted) {
    const reason: unknown = job.reason;
    return reason === 'shutdown' || reason === 'lease_lost' ? reason : 'cancel';
  }
  return call.aborted ? 'deadline' : null;
}

// The tier a provider says it served a call at, as the ledger prices it: flex, or the default price for anything else.
function servedTierOf(reported: string | null, asked: ServiceTier | null): ServiceTier | null {
  if (reported === null) return asked;
  return reported === 'flex' ? 'flex' : 'default';
}

function failureOf(e: ModelCallError): FailureReason {
  switch (e.kind) {
    case 'rate_limited':
      return 'rate_limited';
    case 'server_error':
    case 'timeout':
    case 'connection':
      return 'server_error';
    case 'aborted':
    case 'bad_request':
    case 'auth':
    case 'not_found':
      return 'model_error';
  }
}

// One step of an execution that may spend money: the model's breaker, the ledger's reservation, the call itself,
// and its end recorded before anything else happens with it.
@Injectable()
export class AttemptExecutor {
  private readonly logger = new Logger(AttemptExecutor.name);

  constructor(
    private readonly repo: ExecutionRepository,
    private readonly models: ModelClient,
    private readonly breakers: ModelBreakers,
    private readonly reservations: CallReservations,
    private readonly events: ExecutionEvents,
    private readonly metrics: ReasonerMetrics,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  /** The model tiers whose API offers the flex service tier (the Responses API). */
  get flexTiers(): CallTier[] {
    return (['reasoning', 'standard'] as const).filter((t) => this.models.apiOf(t) === 'responses');
  }

  /** Records a step the planner skipped without a call (a cost breaker, no time left). */
  async skip(
    state: ExecutionState,
    tier: CallTier,
    reason: FailureReason,
    detail: string,
  ): Promise<AttemptRecord> {
    const now = new Date();
    return this.repo.insertAttempt(this.owner, state.execution.id, {
      ...this.blank(state, tier, now),
      status: 'skipped',
      reason,
      detail,
      finishedAt: now,
    });
  }

  async call(
    state: ExecutionState,
    tier: CallTier,
    limits: TaskLimits,
    signal: AbortSignal,
    service: ServiceTierChoice,
  ): Promise<AttemptRecord> {
    const e = state.execution;
    const model = this.models.modelOf(tier);
    if (!this.breakers.tryAcquire(model)) {
      return this.skip(
        state,
        tier,
        'model_breaker_open',
        `the circuit breaker of ${model} is open after ${this.config.REASONER_BREAKER_FAILURES} consecutive failures`,
      );
    }
    const messages = reasoningMessages(e.spec);
    const reasoning = tier === 'reasoning';
    const maxCompletionTokens = reasoning ? limits.maxCompletionTokens : limits.standardMaxCompletionTokens;
    const deadlineAt = reasoning ? limits.reasoningDeadlineAt : limits.deadlineAt;

    let acquired = true;
    const releaseBreaker = (outcome: 'success' | 'failure' | 'neutral') => {
      if (acquired) this.breakers.record(model, outcome);
      acquired = false;
    };
    let started: AttemptRecord;
    try {
      const reply = await this.reservations.reserve(
        {
          // One hold per attempt: a reserve repeated after a lost answer, or by the next owner after a crash
          // before the attempt was recorded, gets the same hold back.
          reservationKey: `${e.id}:${tier}:${state.attempts.length + 1}`,
          tenantId: e.tenantId,
          taskId: e.taskId,
          // Every scope the call falls under holds it: the tenant's, the API key's and the project's budgets.
          apiKeyId: e.spec.apiKeyId,
          project: e.spec.project,
          model,
          tier,
          // Held at the tier's price: a flex call at the flex price.
          serviceTier: service.tier,
          estimatedInputTokens: inputTokenUpperBound(messages),
          maxOutputTokens: maxCompletionTokens,
          taskCeilingMicroUsd: limits.taskCeilingMicroUsd,
          ttlMs: Math.min(DAY_MS, Math.max(1_000, deadlineAt.getTime() - Date.now() + RESERVATION_MARGIN_MS)),
        },
        { deadlineAt, signal },
      );
      if (!reply.approved) {
        releaseBreaker('neutral');
        if (signal.aborted && signal.reason === 'shutdown') throw new InterruptedError();
        const now = new Date();
        // Not a denial: the ledger did not answer until the deadline (or the wait was cancelled).
        const unanswered = reply.reason === 'ledger_unavailable';
        const denied = await this.repo.insertAttempt(this.owner, e.id, {
          ...this.blank(state, tier, now),
          model,
          status: 'skipped',
          outcome: unanswered ? 'error' : 'budget_denied',
          reason: unanswered ? 'ledger_unavailable' : 'budget_denied',
          detail: (unanswered
            ? `the ledger did not answer a reservation before ${deadlineAt.toISOString()}: ${reply.message}`
            : `the ledger refused the reservation (${reply.reason}): ${reply.message}`
          ).slice(0, 2000),
          maxCompletionTokens,
          finishedAt: now,
          result: {
            content: null,
            providerReasoning: null,
            trace: null,
            answer: null,
            parse: 'empty',
            latencyMs: 0,
            providerModel: null,
            errorKind: null,
            errorMessage: null,
            denial: { reason: reply.reason, policy: reply.policy },
          },
        });
        await this.events.budgetDenied(e, denied);
        return denied;
      }

      if (signal.aborted && (signal.reason === 'shutdown' || signal.reason === 'lease_lost')) {
        await this.reservations.release(reply.reservationId, `not called: ${String(signal.reason)}`);
        if (signal.reason === 'lease_lost') throw new LostOwnershipError(e.id);
        throw new InterruptedError();
      }
      started = await this.repo
        .insertAttempt(this.owner, e.id, {
          ...this.blank(state, tier, new Date()),
          model,
          status: 'started',
          reservationId: reply.reservationId,
          serviceTier: service.tier,
          serviceTierReason: service.reason.slice(0, 500),
          maxCompletionTokens,
          reasoningEffort: reasoning ? limits.reasoningEffort : null,
          deadlineAt,
        })
        .catch(async (err: unknown) => {
          await this.reservations.release(
            reply.reservationId,
            'the execution was taken over before its call',
          );
          throw err;
        });
      await this.events.started(e, started);
    } catch (err) {
      releaseBreaker('neutral');
      throw err;
    }
    // Returned, not awaited: while the model thinks, only invoke's frame waits for the call, and what this one alone
    // holds (the ledger's reply, the reservation request) is let go. invoke releases the breaker however it ends.
    if (this.models.isBackground(tier))
      return this.invokeBackground(state, started, messages, signal, releaseBreaker);
    return this.invoke(state, started, messages, signal, releaseBreaker);
  }

  /** Whether a started attempt left by another instance is a background call this instance can poll by its id. */
  canResume(a: AttemptRecord): boolean {
    return a.responseId !== null && this.models.apiOf(a.tier) === 'responses';
  }

  /**
   * Takes over a background call whose executor stopped (crashed, stalled, shut down) and follows it by its response
   * id to its end: the provider held the work meanwhile, and the call is never made again.
   */
  async resumeBackground(
    state: ExecutionState,
    a: AttemptRecord,
    signal: AbortSignal,
  ): Promise<AttemptRecord> {
    const adopted = await this.repo.adoptBackgroundAttempt(this.owner, a);
    if (!adopted) {
      const now = await this.repo.attempt(a.id);
      if (now && now.status !== 'started') return now;
      throw new LostOwnershipError(a.executionId);
    }
    this.logger.log({
      msg: 'a background call is resumed by its response id',
      executionId: a.executionId,
      attemptId: a.id,
      responseId: adopted.responseId,
      startedBy: a.instanceId,
    });
    const call = callSignal(signal, (adopted.deadlineAt?.getTime() ?? Date.now()) - Date.now());
    this.metrics.callStarted(adopted.tier);
    try {
      return await this.follow(state, adopted, signal, call, performance.now(), () => {});
    } finally {
      this.metrics.callEnded(adopted.tier);
      call.dispose();
    }
  }

  private async invoke(
    state: ExecutionState,
    attempt: AttemptRecord,
    messages: ReturnType<typeof reasoningMessages>,
    signal: AbortSignal,
    releaseBreaker: (outcome: 'success' | 'failure' | 'neutral') => void,
  ): Promise<AttemptRecord> {
    const call = callSignal(signal, (attempt.deadlineAt?.getTime() ?? Date.now()) - Date.now());
    const startedMs = performance.now();
    let end: AttemptEnd;
    this.metrics.callStarted(attempt.tier);
    try {
      const result = await this.models.complete(
        attempt.tier,
        this.callRequest(attempt, messages, call.signal),
      );
      releaseBreaker('success');
      end = this.answered(attempt, result);
    } catch (err) {
      end = await this.callFailed(state, attempt, err, signal, call, startedMs, releaseBreaker);
    } finally {
      this.metrics.callEnded(attempt.tier);
      call.dispose();
    }
    return this.record(state, attempt, end, signal);
  }

  // What a call of the attempt asks the provider, the same in sync and background mode.
  private callRequest(
    attempt: AttemptRecord,
    messages: ReturnType<typeof reasoningMessages>,
    signal: AbortSignal,
  ): CompleteRequest {
    return {
      messages,
      maxCompletionTokens: attempt.maxCompletionTokens ?? undefined,
      reasoningEffort: attempt.reasoningEffort ?? undefined,
      // The Responses API's service_tier; chat completions are called without one (the default tier).
      ...(attempt.serviceTier !== null &&
        this.models.apiOf(attempt.tier) === 'responses' && { serviceTier: attempt.serviceTier }),
      // A flex refusal goes to the default tier at once, not after the SDK's retries.
      maxRetries: attempt.serviceTier === 'flex' ? 0 : this.config.REASONER_MODEL_MAX_RETRIES,
      signal,
      // The provider keeps it with its record of the call: its bill matches the ledger call by call.
      requestId: attempt.reservationId ?? undefined,
    };
  }

  // How a call that threw ends: a failure of the model, a cancel or deadline of ours, or (thrown on) a shutdown or a
  // lost lease.
  private async callFailed(
    state: ExecutionState,
    attempt: AttemptRecord,
    err: unknown,
    signal: AbortSignal,
    call: CallSignal,
    startedMs: number,
    releaseBreaker: (outcome: 'success' | 'failure' | 'neutral') => void,
  ): Promise<AttemptEnd> {
    if (!(err instanceof ModelCallError)) {
      releaseBreaker('neutral');
      throw err;
    }
    const cause = abortCause(signal, call.signal);
    if (cause === 'shutdown' || cause === 'lease_lost') {
      // Not an outcome of the task: the call is ended as cut off (booked at its worst case, since the provider may
      // bill it), and whoever runs the execution next tries it again without waiting for its deadline.
      releaseBreaker('neutral');
      await this.record(
        state,
        attempt,
        this.cutOff(attempt, err, cause, performance.now() - startedMs),
        signal,
      );
      if (cause === 'lease_lost') throw new LostOwnershipError(state.execution.id);
      throw new InterruptedError();
    }
    releaseBreaker(cause ? 'neutral' : 'failure');
    return this.failed(attempt, err, cause, Math.round(performance.now() - startedMs));
  }

  // A call in background mode: the provider holds the work and answers polls by its response id, recorded before
  // anything else happens with the call, so that whoever runs the execution next polls it instead of calling again.
  // While it runs, this instance holds the poll state only: no request is open between polls.
  private async invokeBackground(
    state: ExecutionState,
    attempt: AttemptRecord,
    messages: ReturnType<typeof reasoningMessages>,
    signal: AbortSignal,
    releaseBreaker: (outcome: 'success' | 'failure' | 'neutral') => void,
  ): Promise<AttemptRecord> {
    const call = callSignal(signal, (attempt.deadlineAt?.getTime() ?? Date.now()) - Date.now());
    const startedMs = performance.now();
    this.metrics.callStarted(attempt.tier);
    try {
      let responseId: string;
      try {
        ({ responseId } = await this.models.startBackground(
          attempt.tier,
          this.callRequest(attempt, messages, call.signal),
        ));
      } catch (err) {
        const end = await this.callFailed(state, attempt, err, signal, call, startedMs, releaseBreaker);
        return await this.record(state, attempt, end, signal);
      }
      // A crash from here until the id is written loses it: see "Background mode" in docs/architecture.md.
      let accepted: AttemptRecord;
      try {
        accepted = await this.recordResponseIdWhenReachable(attempt, responseId, signal);
      } catch (err) {
        // Nobody could find this call again: stop it rather than pay for an answer nobody reads.
        releaseBreaker('neutral');
        await this.cancelQuietly(attempt, responseId);
        throw err;
      }
      return await this.follow(state, accepted, signal, call, startedMs, releaseBreaker);
    } finally {
      this.metrics.callEnded(attempt.tier);
      call.dispose();
    }
  }

  private recordResponseIdWhenReachable(
    attempt: AttemptRecord,
    responseId: string,
    signal: AbortSignal,
  ): Promise<AttemptRecord> {
    return this.writeWhenReachable(
      () => this.repo.recordResponseId(this.owner, attempt, responseId),
      signal,
      () => new InterruptedError(),
      "a background call's response id could not be recorded; tried again until the database answers",
      { executionId: attempt.executionId, attemptId: attempt.id, responseId },
    );
  }

  // Polls a background call with backoff until it ends, and records its end. A cancel of the task and the call's
  // deadline cancel it at the provider; a shutdown or a lost lease leaves it there, started with its id, for the
  // next owner to resume.
  private async follow(
    state: ExecutionState,
    attempt: AttemptRecord,
    signal: AbortSignal,
    call: CallSignal,
    startedMs: number,
    releaseBreaker: (outcome: 'success' | 'failure' | 'neutral') => void,
  ): Promise<AttemptRecord> {
    const responseId = attempt.responseId ?? '';
    const policy = this.models.pollPolicyOf(attempt.tier);
    const deadlineAtMs = attempt.deadlineAt?.getTime() ?? Date.now();
    let polls = 0;
    let failedPolls = 0;
    let end: AttemptEnd | null = null;
    while (end === null) {
      const step = nextPollStep({ policy, polls, nowMs: Date.now(), deadlineAtMs });
      if (step.kind === 'poll') await sleep(step.delayMs, call.signal);
      const cause = abortCause(signal, call.signal) ?? (step.kind === 'deadline' ? 'deadline' : null);
      if (cause === 'shutdown' || cause === 'lease_lost') {
        // The provider keeps the work: the attempt stays started with its id, and the next owner polls it.
        releaseBreaker('neutral');
        if (cause === 'lease_lost') throw new LostOwnershipError(state.execution.id);
        throw new InterruptedError();
      }
      if (cause === 'cancel' || cause === 'deadline') {
        releaseBreaker('neutral');
        end = await this.cancelAtProvider(attempt, cause, startedMs);
        break;
      }
      polls += 1;
      let polled: BackgroundState;
      try {
        polled = await this.models.pollBackground(attempt.tier, responseId, {
          signal: call.signal,
          maxRetries: 0,
          timeoutMs: POLL_TIMEOUT_MS,
        });
      } catch (err) {
        if (!(err instanceof ModelCallError)) {
          releaseBreaker('neutral');
          throw err;
        }
        // Aborted by a cancel, the deadline or a shutdown: the next turn tells which.
        if (call.signal.aborted) continue;
        if (pollFailureAction(err.kind) === 'poll_again') {
          failedPolls += 1;
          if (failedPolls === 1 || failedPolls % POLL_FAILURE_LOG_EVERY === 0)
            this.logger.warn({
              msg: 'a poll of a background call failed; polled again until its deadline',
              executionId: attempt.executionId,
              attemptId: attempt.id,
              responseId,
              failedPolls,
              error: `${err.kind}${err.status === null ? '' : ` (HTTP ${err.status})`}: ${err.message}`,
            });
          continue;
        }
        releaseBreaker('failure');
        end = this.failed(attempt, err, null, Math.round(performance.now() - startedMs));
        end.detail =
          `polling background response ${responseId} failed with ${err.kind}${err.status === null ? '' : ` (HTTP ${err.status})`}: ${err.message}`.slice(
            0,
            2000,
          );
        break;
      }
      end = this.polledEnd(attempt, polled, startedMs, releaseBreaker);
    }
    return this.record(state, attempt, end, signal);
  }

  // The end a poll reports, or null while the provider is still at work.
  private polledEnd(
    attempt: AttemptRecord,
    polled: BackgroundState,
    startedMs: number,
    releaseBreaker: (outcome: 'success' | 'failure' | 'neutral') => void,
  ): AttemptEnd | null {
    switch (polled.status) {
      case 'queued':
      case 'in_progress':
        return null;
      case 'completed':
      case 'incomplete':
        releaseBreaker('success');
        return this.answered(attempt, polled.result);
      case 'failed':
        releaseBreaker('failure');
        return this.failed(attempt, polled.error, null, Math.round(performance.now() - startedMs));
      case 'cancelled':
        // Not by this task (its cancel goes through cancelAtProvider): someone else holding the key stopped it.
        releaseBreaker('neutral');
        return this.stopped(attempt, {
          reason: 'model_error',
          outcome: 'error',
          detail: `background response ${polled.responseId} was cancelled at the provider, not by this task`,
          usage: polled.usage,
          latencyMs: Math.round(performance.now() - startedMs),
        });
    }
  }

  // Cancels a background call at the provider, for the task's cancel or the call's deadline. The usage the provider
  // reports for the part that ran is booked; when the cancel goes unanswered, the worst case is, as for a sync call
  // cut off. A call that ended just before the cancel reached it ends as it ended: its answer is paid for.
  private async cancelAtProvider(
    attempt: AttemptRecord,
    cause: 'cancel' | 'deadline',
    startedMs: number,
  ): Promise<AttemptEnd> {
    const responseId = attempt.responseId ?? '';
    const why =
      cause === 'cancel'
        ? 'the task was cancelled'
        : `its deadline ${attempt.deadlineAt?.toISOString() ?? ''} passed`;
    const latencyMs = () => Math.round(performance.now() - startedMs);
    let stoppedState: BackgroundState | null = null;
    let error: string | null = null;
    try {
      stoppedState = await this.models.cancelBackground(attempt.tier, responseId, {
        timeoutMs: POLL_TIMEOUT_MS,
        maxRetries: this.config.REASONER_MODEL_MAX_RETRIES,
      });
    } catch (err) {
      error = err instanceof ModelCallError ? `${err.kind}: ${err.message}` : String(err);
      this.logger.warn({
        msg: 'a background call could not be cancelled at the provider; booked at its worst case',
        executionId: attempt.executionId,
        attemptId: attempt.id,
        responseId,
        error,
      });
    }
    if (stoppedState?.status === 'completed' || stoppedState?.status === 'incomplete')
      return this.answered(attempt, stoppedState.result);
    const base = {
      reason: cause === 'cancel' ? ('cancelled' as const) : ('deadline' as const),
      outcome: cause === 'cancel' ? ('cancelled' as const) : ('deadline' as const),
      latencyMs: latencyMs(),
    };
    if (stoppedState?.status === 'cancelled' && stoppedState.usage !== null)
      return this.stopped(attempt, {
        ...base,
        detail: `background response ${responseId} was cancelled at the provider: ${why}`,
        usage: stoppedState.usage,
      });
    // Unknown usage: errorKind aborted books the call at its worst case, never less than the provider may bill.
    return {
      ...this.stopped(attempt, {
        ...base,
        detail: `${why}; background response ${responseId} ${error ? `could not be cancelled at the provider (${error})` : `ended ${stoppedState?.status ?? 'unknown'}`}`,
        usage: null,
      }),
      result: { ...this.stoppedResult(base.latencyMs), errorKind: 'aborted', errorMessage: error },
    };
  }

  private async cancelQuietly(attempt: AttemptRecord, responseId: string): Promise<void> {
    try {
      await this.models.cancelBackground(attempt.tier, responseId, { timeoutMs: POLL_TIMEOUT_MS });
    } catch (err) {
      this.logger.warn({
        msg: 'a background call whose id could not be recorded could not be cancelled either',
        executionId: attempt.executionId,
        attemptId: attempt.id,
        responseId,
        error: (err as Error).message,
      });
    }
  }

  // A background call that ended without an answer and without an error of the SDK: its usage is the provider's.
  private stopped(
    attempt: AttemptRecord,
    s: {
      reason: FailureReason;
      outcome: 'error' | 'cancelled' | 'deadline';
      detail: string;
      usage: TokenUsage | null;
      latencyMs: number;
    },
  ): AttemptEnd {
    return {
      status: 'finished',
      outcome: s.outcome,
      reason: s.reason,
      detail: s.detail.slice(0, 2000),
      finishedAt: new Date(),
      finishReason: null,
      usage: s.usage,
      result: { ...this.stoppedResult(s.latencyMs), errorKind: 'cancelled', errorMessage: null },
    };
  }

  private stoppedResult(latencyMs: number): AttemptResult {
    return {
      content: null,
      providerReasoning: null,
      trace: null,
      answer: null,
      parse: 'empty',
      latencyMs,
      providerModel: null,
      errorKind: null,
      errorMessage: null,
      denial: null,
    };
  }

  // Recorded by this instance even when its lease lapsed while the call ran (it stalled): the usage is booked, and
  // the instance that took the execution over, waiting for this attempt, goes on from it.
  private async record(
    state: ExecutionState,
    attempt: AttemptRecord,
    end: AttemptEnd,
    signal: AbortSignal,
  ): Promise<AttemptRecord> {
    let recorded: AttemptRecord;
    try {
      recorded = await this.endWhenReachable(attempt, end, signal);
    } catch (e) {
      // The new owner gave the call up after its deadline and booked it at its worst case. A call that reported its
      // usage after all is booked at it instead, under a usage event id of its own (one per attempt, so a repeat
      // is a duplicate): the ledger replaces the worst case with it, never books both.
      // A background call is another story: the instance that adopted it by its id books the same response's usage.
      if (e instanceof LostOwnershipError && attempt.responseId === null)
        await this.bookLateUsage(state, attempt, end);
      throw e;
    }
    await this.events.callEnded(state.execution, recorded);
    return recorded;
  }

  // The end of a call is what books its usage: with the database unreachable (Postgres restarting) it is kept here
  // and written once the database answers, instead of the execution being dropped with its call's end. Meanwhile the
  // lease may lapse and another instance take the execution over: the write then fails as lost ownership, and the
  // usage goes out as a late one. Only a shutdown stops the wait (the next owner gives the call up at its deadline).
  private endWhenReachable(
    attempt: AttemptRecord,
    end: AttemptEnd,
    signal: AbortSignal,
  ): Promise<AttemptRecord> {
    return this.writeWhenReachable(
      () => this.repo.endAttempt(this.owner, attempt, end),
      signal,
      (e) => e,
      "a call's end could not be recorded; tried again until the database answers",
      { executionId: attempt.executionId, attemptId: attempt.id },
    );
  }

  // A write this instance must not lose (a call's end, a background call's response id), tried again until the
  // database answers. A lost ownership ends it at once; a shutdown ends it with `onShutdown(error)`. The wait is not
  // on the job's signal: that may be aborted already (lease lost, cancel) and the write must still happen.
  private async writeWhenReachable<T>(
    write: () => Promise<T>,
    signal: AbortSignal,
    onShutdown: (error: unknown) => unknown,
    msg: string,
    context: Record<string, unknown>,
  ): Promise<T> {
    for (let retry = 1; ; retry += 1) {
      try {
        return await write();
      } catch (e) {
        if (e instanceof LostOwnershipError) throw e;
        if (signal.aborted && signal.reason === 'shutdown') throw onShutdown(e);
        if (retry === 1 || retry % 10 === 0) {
          this.logger.warn({ msg, ...context, retry, error: (e as Error).message });
        }
        await sleep(jitteredBackoffMs(retry, END_RETRY_BASE_MS, END_RETRY_MAX_MS));
      }
    }
  }

  private async bookLateUsage(state: ExecutionState, attempt: AttemptRecord, end: AttemptEnd): Promise<void> {
    const context = { executionId: state.execution.id, attemptId: attempt.id, usage: end.usage };
    if (!end.usage || !attempt.reservationId) {
      this.logger.warn({
        msg: 'a call ended after the execution was taken over and its attempt given up; it is booked at its worst case',
        ...context,
      });
      return;
    }
    try {
      await this.events.lateCallEnded(state.execution, {
        ...attempt,
        ...end,
        usageEventId: `${attempt.usageEventId}:late`,
      });
      this.logger.warn({
        msg: 'a call ended after the execution was taken over and its attempt given up; its usage replaces its worst-case booking',
        ...context,
      });
    } catch (err) {
      // Its worst case stays booked: never less than the provider bills.
      this.logger.error({
        msg: 'the usage of a call that ended after its attempt was given up could not be booked',
        error: (err as Error).message,
        ...context,
      });
    }
  }

  private cutOff(
    attempt: AttemptRecord,
    err: ModelCallError,
    cause: AbortCause,
    latencyMs: number,
  ): AttemptEnd {
    const why = cause === 'lease_lost' ? 'this executor lost its lease' : 'the instance is shutting down';
    return {
      ...this.failed(attempt, err, null, Math.round(latencyMs)),
      status: 'crashed',
      reason: 'executor_crashed',
      detail: `the call was aborted: ${why}`,
    };
  }

  private answered(attempt: AttemptRecord, r: ModelCallResult): AttemptEnd {
    const parsed = parseTrace(r.content);
    const limitHit = r.finishReason === 'length';
    const answered = !limitHit && parsed.answer !== null;
    const model = attempt.tier === 'reasoning' ? 'reasoning model' : 'standard model';
    return {
      status: 'finished',
      outcome: answered ? 'answered' : 'limit_hit',
      reason: answered ? null : limitHit ? 'limit_hit' : 'unusable_answer',
      detail: answered
        ? null
        : limitHit
          ? `the ${model} stopped at its ${attempt.maxCompletionTokens ?? '?'}-token limit (finish_reason length, parse ${parsed.parse})`
          : `the ${model} returned no answer (finish_reason ${r.finishReason}, parse ${parsed.parse})`,
      finishedAt: new Date(),
      finishReason: r.finishReason,
      usage: r.usage,
      result: {
        content: r.content,
        providerReasoning: r.reasoningContent,
        trace: parsed.trace,
        answer: answered ? parsed.answer : null,
        parse: parsed.parse,
        latencyMs: r.latencyMs,
        providerModel: r.model,
        servedTier: servedTierOf(r.serviceTier, attempt.serviceTier),
        errorKind: null,
        errorMessage: null,
        denial: null,
      },
    };
  }

  private failed(
    attempt: AttemptRecord,
    err: ModelCallError,
    cause: 'cancel' | 'deadline' | null,
    latencyMs: number,
  ): AttemptEnd {
    // No flex capacity (429, not billed): the planner calls the same step again at the default tier.
    const flexRefused = cause === null && attempt.serviceTier === 'flex' && err.kind === 'rate_limited';
    const reason: FailureReason =
      cause === 'cancel'
        ? 'cancelled'
        : cause === 'deadline'
          ? 'deadline'
          : flexRefused
            ? 'flex_unavailable'
            : failureOf(err);
    const detail =
      cause === 'cancel'
        ? 'the call was aborted: the task was cancelled'
        : cause === 'deadline'
          ? `the call was aborted at its deadline ${attempt.deadlineAt?.toISOString() ?? ''}`
          : flexRefused
            ? `the provider refused the flex service tier${err.status === null ? '' : ` (HTTP ${err.status}${err.code ? ` ${err.code}` : ''})`}: ${err.message}`
            : `${err.kind}${err.status === null ? '' : ` (HTTP ${err.status})`} after ${attempt.serviceTier === 'flex' ? 0 : this.config.REASONER_MODEL_MAX_RETRIES} retries: ${err.message}`;
    return {
      status: 'finished',
      outcome: cause === 'cancel' ? 'cancelled' : cause === 'deadline' ? 'deadline' : 'error',
      reason,
      detail: detail.slice(0, 2000),
      finishedAt: new Date(),
      finishReason: null,
      // The SDK reports no usage for a failed or aborted call: a failed one is released, an aborted one (errorKind
      // aborted) booked at its worst case.
      usage: null,
      result: {
        content: null,
        providerReasoning: null,
        trace: null,
        answer: null,
        parse: 'empty',
        latencyMs,
        providerModel: null,
        errorKind: err.kind,
        errorMessage: err.message.slice(0, 2000),
        denial: null,
      },
    };
  }

  private blank(
    state: ExecutionState,
    tier: CallTier,
    now: Date,
  ): Omit<AttemptRecord, 'executionId' | 'instanceId'> {
    return {
      id: uuidv7(now.getTime()),
      attempt: state.attempts.length + 1,
      tier,
      model: this.models.modelOf(tier),
      status: 'skipped',
      outcome: null,
      reason: null,
      detail: null,
      reservationId: null,
      responseId: null,
      serviceTier: null,
      serviceTierReason: null,
      maxCompletionTokens: null,
      reasoningEffort: null,
      deadlineAt: null,
      startedAt: now,
      finishedAt: null,
      finishReason: null,
      usage: null,
      result: null,
      usageEventId: uuidv7(now.getTime()),
      traceEventId: uuidv7(now.getTime()),
    };
  }

  private get owner(): string {
    return this.config.REASONER_INSTANCE_ID;
  }
}

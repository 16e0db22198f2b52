import { type TokenUsage, ZERO_USAGE } from '@deliberate/contracts';
import { BreakerStateCache } from '@deliberate/ledger-client';
import { OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { jitteredBackoffMs, sleep } from '@deliberate/retry';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import { Inject, Injectable } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { ExecutionEvents } from '../events/execution-events';
import { ReasonerMetrics } from './reasoner-metrics';
import { AttemptExecutor, InterruptedError } from './attempt-executor';
import { CompletionRecorder } from './completion-recorder';
import { type Plan, planNext } from './execution-planner';
import type { AttemptRecord, ExecutionOutcome, ExecutionState } from './execution-record';
import { ExecutionRepository, LostOwnershipError } from './execution.repository';
import { type TaskLimits, taskLimits } from './task-limits';

const CRASH_RETRY_MAX_DELAY_MS = 60_000;
// After a started call's deadline, how long its own instance has to record its end before another gives it up.
const STALLED_CALL_GRACE_MS = 2_000;

function addUsage(total: TokenUsage, u: TokenUsage | null): TokenUsage {
  if (!u) return total;
  return {
    inputTokens: total.inputTokens + u.inputTokens,
    cachedInputTokens: total.cachedInputTokens + u.cachedInputTokens,
    outputTokens: total.outputTokens + u.outputTokens,
    reasoningTokens: total.reasoningTokens + u.reasoningTokens,
  };
}

const callWasMade = (a: AttemptRecord) => a.status === 'finished' || a.status === 'crashed';

// Runs one execution to its end: plan, call, record, repeat; then store the outcome and its terminal event in one
// transaction (the event in the outbox), and relay the event. Started again after a crash (by any instance), it picks
// up from what the attempts recorded; an outcome stored before a crash is the outbox relay's to publish, not a run's.
@Injectable()
export class ExecutionRunner {
  constructor(
    private readonly sql: Sql,
    private readonly repo: ExecutionRepository,
    private readonly executor: AttemptExecutor,
    private readonly events: ExecutionEvents,
    private readonly relay: OutboxRelay,
    private readonly costBreakers: BreakerStateCache,
    private readonly policies: TenantPolicyCache,
    private readonly metrics: ReasonerMetrics,
    private readonly completions: CompletionRecorder,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  /**
   * `fresh` is the state intake just stored; without it the execution is loaded, as one claimed after a crash or
   * handed back by another instance, and whatever its previous owner may not have finished is done again.
   */
  async run(executionId: string, signal: AbortSignal, fresh?: ExecutionState): Promise<void> {
    const state = fresh ?? (await this.repo.load(executionId));
    if (!state || state.execution.outcome) return;
    const e = state.execution;
    if (!fresh) await this.resume(state, signal);

    // The tenant's policy as it is when the run starts (again after a takeover): chain, denial action, limits.
    const policy = this.policies.policyOf(e.tenantId);
    const limits = taskLimits(e.spec, e, policy, {
      defaultMaxThinkingTokens: this.config.REASONER_DEFAULT_MAX_THINKING_TOKENS,
      maxThinkingTokensCeiling: this.config.REASONER_MAX_THINKING_TOKENS_CEILING,
      standardMaxCompletionTokens: this.config.REASONER_STANDARD_MAX_COMPLETION_TOKENS,
      defaultDeadlineMs: this.config.REASONER_DEFAULT_DEADLINE_MS,
      fallbackReserveMs: this.config.REASONER_FALLBACK_RESERVE_MS,
    });
    for (;;) {
      if (signal.aborted && signal.reason === 'shutdown') throw new InterruptedError();
      if (signal.aborted && signal.reason === 'lease_lost') throw new LostOwnershipError(e.id);
      const plan = planNext({
        attempts: state.attempts,
        fallback: policy.fallback,
        onBudgetDenied: policy.onBudgetDenied,
        maxCrashRetries: this.config.REASONER_MAX_CRASH_RETRIES,
        cancelRequested: e.cancelRequestedAt !== null || (signal.aborted && signal.reason === 'cancel'),
        costBreaker: this.costBreakers.state(e.tenantId),
        now: new Date(),
        deadlineAt: limits.deadlineAt,
        reasoningDeadlineAt: limits.reasoningDeadlineAt,
        serviceTier: limits.serviceTier,
        flexTiers: this.executor.flexTiers,
      });
      switch (plan.kind) {
        case 'call':
          if (plan.retry > 0) {
            // The SDK retries 429 and 5xx itself; a call our own crash cut off, or the last model tier tried again
            // through an outage, is ours to space out.
            await sleep(
              jitteredBackoffMs(
                plan.retry,
                this.config.REASONER_CRASH_RETRY_BASE_MS,
                CRASH_RETRY_MAX_DELAY_MS,
              ),
              signal,
            );
            if (signal.aborted) continue;
          }
          state.attempts.push(await this.executor.call(state, plan.tier, limits, signal, plan.serviceTier));
          continue;
        case 'skip':
          state.attempts.push(await this.executor.skip(state, plan.tier, plan.reason, plan.detail));
          continue;
        case 'complete':
        case 'fail':
        case 'escalate':
        case 'cancel':
          await this.finish(state, plan, limits);
          return;
      }
    }
  }

  // A previous owner died or stalled: a background call it left started with its response id is adopted and polled to
  // its end; another call it left started is waited for (it may still be running and report its usage) until its
  // deadline has passed, then marked cut off and booked at its worst case; the events and ledger
  // calls of recorded attempts go out again — each has a stable id, so duplicates are harmless.
  private async resume(state: ExecutionState, signal: AbortSignal): Promise<void> {
    const e = state.execution;
    for (const [i, a] of state.attempts.entries()) {
      if (a.status === 'started') {
        // A background call is polled by its response id to its end, never made again.
        const ended = this.executor.canResume(a)
          ? await this.executor.resumeBackground(state, a, signal)
          : await this.awaitCallOf(a, state, signal);
        state.attempts[i] = ended;
        if (ended.status === 'crashed') await this.events.started(e, ended);
        await this.events.callEnded(e, ended);
      } else if (callWasMade(a)) {
        await this.events.callEnded(e, a);
      } else if (a.reason === 'budget_denied') {
        await this.events.budgetDenied(e, a);
      }
    }
  }

  /** The attempt once its call can no longer be running: ended by its own instance, or given up here. */
  private async awaitCallOf(
    a: AttemptRecord,
    state: ExecutionState,
    signal: AbortSignal,
  ): Promise<AttemptRecord> {
    const pollMs = Math.max(100, Math.floor(this.config.REASONER_LEASE_MS / 3));
    for (let current = a; ;) {
      const givenUp = await this.repo.abandonAttempt(
        this.config.REASONER_INSTANCE_ID,
        current,
        {
          status: 'crashed',
          outcome: 'error',
          reason: 'executor_crashed',
          detail: `the executor (${a.instanceId}) stopped before the call's result was recorded`,
          finishedAt: new Date(),
          finishReason: null,
          usage: null,
          result: null,
        },
        STALLED_CALL_GRACE_MS,
      );
      if (givenUp) return givenUp;
      const now = await this.repo.attempt(a.id);
      if (!now) throw new Error(`attempt ${a.id} of execution ${a.executionId} is gone`);
      if (now.status !== 'started') return now;
      // Its stalled executor recorded a background call's id meanwhile: poll it rather than give it up.
      if (this.executor.canResume(now)) return this.executor.resumeBackground(state, now, signal);
      current = now;
      const dueMs = (a.deadlineAt ?? a.startedAt).getTime() + STALLED_CALL_GRACE_MS - Date.now();
      // A cancel does not end the wait: the call may still report what it cost.
      await sleep(Math.max(50, Math.min(pollMs, dueMs)), signal.reason === 'cancel' ? undefined : signal);
      if (signal.aborted && signal.reason === 'shutdown') throw new InterruptedError();
      if (signal.aborted && signal.reason === 'lease_lost') throw new LostOwnershipError(a.executionId);
    }
  }

  private async finish(
    state: ExecutionState,
    plan: Exclude<Plan, { kind: 'call' | 'skip' }>,
    limits: TaskLimits,
  ): Promise<void> {
    const e = state.execution;
    const now = new Date();
    const usage = state.attempts.reduce((sum, a) => addUsage(sum, a.usage), ZERO_USAGE);
    let outcome: ExecutionOutcome;
    switch (plan.kind) {
      case 'complete': {
        const a = plan.attempt;
        outcome = {
          kind: 'completed',
          data: {
            result: {
              answer: a.result?.answer ?? '',
              answeredBy: a.tier === 'reasoning' ? 'reasoning_model' : 'standard_model',
              model: a.result?.providerModel ?? a.model,
              usage,
              latencyMs: Math.max(0, now.getTime() - e.createdAt.getTime()),
              degraded: plan.degraded,
            },
            completedAt: now.toISOString(),
            review: null,
          },
        };
        break;
      }
      case 'fail':
        outcome = {
          kind: 'failed',
          data: {
            error: { code: plan.code, message: plan.message.slice(0, 4000) },
            failedAt: now.toISOString(),
          },
        };
        break;
      case 'escalate':
        outcome = {
          kind: 'escalated',
          data: {
            reason: plan.reason.slice(0, 4000),
            attempts: plan.attempts.slice(-50),
            escalatedAt: now.toISOString(),
          },
        };
        break;
      case 'cancel': {
        const reason = e.cancelReason ?? (await this.repo.load(e.id))?.execution.cancelReason ?? null;
        const consumed = usage.inputTokens > 0 || usage.outputTokens > 0;
        outcome = {
          kind: 'cancelled',
          data: {
            reason: (reason ?? 'cancelled on request').slice(0, 1000),
            usage: consumed ? usage : null,
            cancelledAt: now.toISOString(),
          },
        };
        break;
      }
    }
    const event = await this.sql.transaction(async (tx) => {
      await this.repo.finish(tx, this.config.REASONER_INSTANCE_ID, e.id, outcome);
      // What follows a completion (a shadow run) is stored with it or not at all.
      if (outcome.kind === 'completed') {
        await this.completions.recordCompletion(tx, { execution: e, result: outcome.data.result, limits });
      }
      return this.events.outcome(tx, e, outcome);
    });
    // Counted once committed: the outcome is stored once per execution (a second finish fails as lost ownership).
    this.metrics.executionEnded(plan.kind === 'complete' && plan.degraded ? 'fallback' : outcome.kind);
    // Resolves once Kafka has the event, or it failed and the relay's sweep sends it (also after a crash here).
    await this.relay.publish([event]);
  }
}

import {
  modelCallRecordedEvent,
  type ServiceTier,
  shadowComparisonRecordedEvent,
  type ShadowOutcome,
  type TokenUsage,
  ZERO_USAGE,
} from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { CallReservations } from '@deliberate/ledger-client';
import { inputTokenUpperBound, ModelCallError, ModelClient } from '@deliberate/llm';
import { PeriodicJob, Sql } from '@deliberate/persistence';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { reasoningMessages } from '../thought/reasoning-prompt';
import { parseTrace } from '../thought/trace-parser';
import { answersAgree } from './answer-agreement';
import {
  JUDGE_MAX_OUTPUT_TOKENS,
  JUDGE_RESPONSE_FORMAT,
  judgeMessages,
  parseVerdict,
  questionOf,
} from './judge-prompt';
import {
  type ClaimedShadowRun,
  type JudgeResult,
  type ShadowResult,
  type ShadowRun,
  ShadowRunRepository,
} from './shadow-run.repository';

// A shadow hold outlives its call by this much, so a call answering at its last moment is still covered.
const RESERVATION_MARGIN_MS = 60_000;
// A run's lease outlives its one call (made once, within REASONER_SHADOW_TIMEOUT_MS) by this much, for recording its
// end; after it, another instance takes the run over as cut off.
const LEASE_MARGIN_MS = 10_000;
// How long one round waits for the ledger to answer a reserve; a run it did not answer is tried at a later poll.
const RESERVE_WAIT_MS = 30_000;
// After the grace, how long the cut-off calls get to record their end.
const CUT_OFF_RECORD_MS = 5_000;
const isZero = (u: TokenUsage) => u.inputTokens === 0 && u.outputTokens === 0;
const ANSWERED: readonly ShadowOutcome[] = ['ok', 'length'];

// Shadow evaluation's executor: off the critical path (a task's outcome is stored and published before its shadow
// run is even claimed), it sends the sampled task's prompt to the shadow model, never acts on the answer, and
// records the comparison. Money is handled as for a live call: held before (on the shadow budget), the hold and the
// call's ids recorded before the call, settled or released after; a run found started after a crash is not called
// again but booked at its hold's worst case. A ledger that does not answer leaves the run for a later poll.
@Injectable()
export class ShadowRunner {
  private readonly logger = new Logger(ShadowRunner.name);
  private readonly job: PeriodicJob;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly sql: Sql,
    private readonly runs: ShadowRunRepository,
    private readonly models: ModelClient,
    private readonly reservations: CallReservations,
    private readonly publisher: EventPublisher,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {
    this.job = new PeriodicJob(
      { name: 'shadow runs', intervalMs: config.REASONER_SHADOW_POLL_MS, logger: this.logger },
      () => this.poll(),
    );
  }

  start(): void {
    this.job.start();
  }

  /**
   * No new run; the calls in flight may end within the grace, then are cut off, recorded as such (booked at their
   * holds' worst case) and published. A run still unrecorded then is found started by the next poll of any instance.
   */
  async stop(graceMs: number): Promise<void> {
    await this.job.stop();
    await this.inFlightEnded(graceMs);
    this.stopping.abort('shutdown');
    await this.inFlightEnded(CUT_OFF_RECORD_MS);
  }

  private async inFlightEnded(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values()]),
      new Promise((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  /** Claims as many runs as there are free slots and starts them; public for tests. */
  async poll(): Promise<void> {
    const free = this.config.REASONER_SHADOW_CONCURRENCY - this.inFlight.size;
    if (free <= 0 || this.stopping.signal.aborted) return;
    // Two calls at most (the shadow's and the judge's), each within the time limit.
    const leaseMs = 2 * this.config.REASONER_SHADOW_TIMEOUT_MS + LEASE_MARGIN_MS;
    const claimed = await this.runs.claim(this.sql, this.owner, leaseMs, free);
    for (const run of claimed) {
      const work = this.process(run).finally(() => this.inFlight.delete(run.id));
      this.inFlight.set(run.id, work);
    }
  }

  /** Resolves once every run in flight has ended; for tests. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private get owner(): string {
    return this.config.REASONER_INSTANCE_ID;
  }

  private async process(run: ClaimedShadowRun): Promise<void> {
    try {
      let ended: ShadowRun = run;
      if (run.status === 'pending') ended = await this.call(run);
      else if (run.status === 'started') ended = await this.cutOff(run);
      if (ended.status === 'ended' && this.needsJudge(ended)) ended = await this.judge(ended, run.prompt);
      else if (ended.status === 'judging') ended = await this.cutOffJudge(ended);
      if (ended.status === 'ended' || ended.status === 'judged') await this.publish(ended);
    } catch (e) {
      this.logger.warn({
        msg: 'shadow run failed; it is tried again',
        shadowRunId: run.id,
        error: String(e),
      });
      await this.runs.release(this.sql, this.owner, run.id).catch(() => undefined);
    }
  }

  // Hold, record the hold, call, record the call's end.
  private async call(run: ClaimedShadowRun): Promise<ShadowRun> {
    if (!run.prompt)
      return this.end(run, failed('error', `execution ${run.executionId} is gone`, run.serviceTier));
    const messages = reasoningMessages(run.prompt);
    const reply = await this.reservations.reserve(
      {
        reservationKey: `shadow:${run.id}`,
        tenantId: run.tenantId,
        taskId: run.taskId,
        apiKeyId: run.apiKeyId,
        project: run.project,
        model: run.model,
        tier: 'reasoning',
        serviceTier: run.serviceTier,
        estimatedInputTokens: inputTokenUpperBound(messages),
        maxOutputTokens: run.maxCompletionTokens,
        shadow: true,
        ttlMs: this.config.REASONER_SHADOW_TIMEOUT_MS + RESERVATION_MARGIN_MS,
      },
      { deadlineAt: new Date(Date.now() + RESERVE_WAIT_MS), signal: this.stopping.signal },
    );
    if (!reply.approved) {
      // Not a verdict: the ledger did not answer; the run stays pending for a later poll.
      if (reply.reason === 'ledger_unavailable')
        throw new Error(`the ledger did not answer: ${reply.message}`);
      return this.end(run, failed('budget_denied', reply.message, run.serviceTier));
    }
    if (!(await this.runs.markStarted(this.sql, this.owner, run.id, reply.reservationId))) {
      throw new Error(`shadow run ${run.id} was taken over before its call`);
    }
    const started = { ...run, status: 'started' as const, reservationId: reply.reservationId };
    const flex = run.serviceTier === 'flex';
    const responses = this.models.apiOf('reasoning') === 'responses';
    const startedMs = performance.now();
    let result: Omit<ShadowResult, 'endedAt'>;
    try {
      const r = await this.models.complete('reasoning', {
        model: run.model,
        messages,
        maxCompletionTokens: run.maxCompletionTokens,
        reasoningEffort: run.reasoningEffort ?? undefined,
        ...(responses && { serviceTier: run.serviceTier }),
        // Made once: a failure (a flex refusal among them) is the comparison's outcome, and the call stays within the
        // run's lease.
        maxRetries: 0,
        timeoutMs: this.config.REASONER_SHADOW_TIMEOUT_MS,
        signal: this.stopping.signal,
        requestId: reply.reservationId,
      });
      const parsed = parseTrace(r.content);
      result = {
        outcome: r.finishReason === 'length' ? 'length' : parsed.answer === null ? 'error' : 'ok',
        answer: parsed.answer,
        usage: r.usage,
        latencyMs: Math.round(r.latencyMs),
        servedTier: r.serviceTier === 'flex' ? 'flex' : r.serviceTier === null ? run.serviceTier : 'default',
        finishReason: r.finishReason,
        errorMessage: parsed.answer === null ? `no answer (${parsed.parse})` : null,
        aborted: false,
      };
    } catch (err) {
      if (!(err instanceof ModelCallError)) throw err;
      const latencyMs = Math.round(performance.now() - startedMs);
      const refused = flex && err.kind === 'rate_limited';
      result = {
        ...failed(refused ? 'refused' : 'error', err.message, run.serviceTier),
        latencyMs,
        // Cut off by a shutdown: the provider may bill it all the same.
        aborted: err.kind === 'aborted',
      };
    }
    return this.end(started, result);
  }

  // Found started: its owner died or stopped mid-call. The call may have run and be billed: never made again, it is
  // booked at its hold's worst case.
  private cutOff(run: ShadowRun): Promise<ShadowRun> {
    return this.end(run, {
      ...failed('error', 'the shadow executor stopped before the call ended', run.serviceTier),
      aborted: true,
    });
  }

  // Normalised exact match says no, and the policy (as it was when the run was written) names a judge.
  private needsJudge(run: ShadowRun): boolean {
    const r = run.result;
    return (
      run.judgeModel !== null &&
      r !== null &&
      ANSWERED.includes(r.outcome) &&
      r.answer !== null &&
      !answersAgree(run.live.answer, r.answer)
    );
  }

  // The judge's call, made like the shadow call: held on the shadow budget, the hold recorded before the call, the
  // end recorded after; a ledger that does not answer leaves the run ended for a later poll.
  private async judge(run: ShadowRun, prompt: ClaimedShadowRun['prompt']): Promise<ShadowRun> {
    const judgeModel = run.judgeModel!;
    const messages = judgeMessages(questionOf(prompt?.input ?? ''), run.live.answer, run.result!.answer!);
    const reply = await this.reservations.reserve(
      {
        reservationKey: `shadow-judge:${run.id}`,
        tenantId: run.tenantId,
        taskId: run.taskId,
        apiKeyId: run.apiKeyId,
        project: run.project,
        model: judgeModel,
        tier: 'standard',
        estimatedInputTokens: inputTokenUpperBound(messages),
        maxOutputTokens: JUDGE_MAX_OUTPUT_TOKENS,
        shadow: true,
        ttlMs: this.config.REASONER_SHADOW_TIMEOUT_MS + RESERVATION_MARGIN_MS,
      },
      { deadlineAt: new Date(Date.now() + RESERVE_WAIT_MS), signal: this.stopping.signal },
    );
    if (!reply.approved) {
      if (reply.reason === 'ledger_unavailable')
        throw new Error(`the ledger did not answer: ${reply.message}`);
      return this.judged(run, {
        verdict: 'budget_denied',
        reason: reply.message,
        usage: ZERO_USAGE,
        latencyMs: 0,
        aborted: false,
      });
    }
    if (!(await this.runs.markJudging(this.sql, this.owner, run.id, reply.reservationId))) {
      throw new Error(`shadow run ${run.id} was taken over before its judge's call`);
    }
    const judging = { ...run, status: 'judging' as const, judgeReservationId: reply.reservationId };
    const startedMs = performance.now();
    try {
      const r = await this.models.complete('standard', {
        model: judgeModel,
        messages,
        maxCompletionTokens: JUDGE_MAX_OUTPUT_TOKENS,
        responseFormat: JUDGE_RESPONSE_FORMAT,
        maxRetries: 0,
        timeoutMs: this.config.REASONER_SHADOW_TIMEOUT_MS,
        signal: this.stopping.signal,
        requestId: reply.reservationId,
      });
      return this.judged(judging, {
        ...parseVerdict(r.content),
        usage: r.usage,
        latencyMs: Math.round(r.latencyMs),
        aborted: false,
      });
    } catch (err) {
      if (!(err instanceof ModelCallError)) throw err;
      return this.judged(judging, {
        verdict: 'error',
        reason: err.message.slice(0, 2000),
        usage: ZERO_USAGE,
        latencyMs: Math.round(performance.now() - startedMs),
        aborted: err.kind === 'aborted',
      });
    }
  }

  // Found judging: its owner died mid-call. Never called again; booked at its hold's worst case.
  private cutOffJudge(run: ShadowRun): Promise<ShadowRun> {
    return this.judged(run, {
      verdict: 'error',
      reason: 'the shadow executor stopped before the judge answered',
      usage: ZERO_USAGE,
      latencyMs: 0,
      aborted: true,
    });
  }

  private async judged(run: ShadowRun, judge: JudgeResult): Promise<ShadowRun> {
    if (!(await this.runs.markJudged(this.sql, this.owner, run.id, judge))) {
      throw new Error(`shadow run ${run.id} was taken over before its judge's end was recorded`);
    }
    return { ...run, status: 'judged', judge };
  }

  private async end(run: ShadowRun, ended: Omit<ShadowResult, 'endedAt'>): Promise<ShadowRun> {
    const result: ShadowResult = { ...ended, endedAt: new Date().toISOString() };
    if (!(await this.runs.markEnded(this.sql, this.owner, run.id, result))) {
      throw new Error(`shadow run ${run.id} was taken over before its end was recorded`);
    }
    return { ...run, status: 'ended', result };
  }

  // The hold settled (or released), the call's usage event, the comparison; each with an id stored with the run, so
  // a crash here sends them again harmlessly. Then the run is done.
  private async publish(run: ShadowRun): Promise<void> {
    const r = run.result!;
    const called = run.reservationId !== null;
    if (run.reservationId) {
      if (isZero(r.usage) && !r.aborted) {
        await this.reservations.release(run.reservationId, `shadow call ended without usage: ${r.outcome}`);
      } else {
        await this.reservations.settle({
          reservationId: run.reservationId,
          usageEventId: run.usageEventId,
          model: run.model,
          usage: r.usage,
          serviceTier: r.servedTier,
          aborted: r.aborted && isZero(r.usage),
        });
      }
    }
    const address = { tenantId: run.tenantId, taskId: run.taskId };
    if (called) {
      await this.publisher.publish(modelCallRecordedEvent, {
        id: run.usageEventId,
        ...address,
        data: {
          callId: run.id,
          tier: 'reasoning',
          model: run.model,
          purpose: 'shadow',
          usage: r.usage,
          latencyMs: r.latencyMs,
          outcome:
            r.aborted && isZero(r.usage)
              ? 'aborted'
              : ANSWERED.includes(r.outcome)
                ? r.outcome === 'length'
                  ? 'length'
                  : 'ok'
                : 'error',
          finishReason: r.finishReason,
          errorMessage: r.errorMessage?.slice(0, 2000) ?? null,
          reservationId: run.reservationId,
          serviceTier: r.servedTier,
        },
      });
    }
    const j = run.judge;
    if (j && run.judgeReservationId) {
      // The judge's hold, settled or released, and its usage event: evaluation overhead, booked as shadow.
      if (isZero(j.usage) && !j.aborted) {
        await this.reservations.release(
          run.judgeReservationId,
          `judge call ended without usage: ${j.verdict}`,
        );
      } else {
        await this.reservations.settle({
          reservationId: run.judgeReservationId,
          usageEventId: run.judgeUsageEventId,
          model: run.judgeModel!,
          usage: j.usage,
          aborted: j.aborted && isZero(j.usage),
        });
      }
      await this.publisher.publish(modelCallRecordedEvent, {
        id: run.judgeUsageEventId,
        ...address,
        data: {
          callId: `${run.id}:judge`,
          tier: 'standard',
          model: run.judgeModel!,
          purpose: 'shadow-judge',
          usage: j.usage,
          latencyMs: j.latencyMs,
          outcome: j.aborted && isZero(j.usage) ? 'aborted' : j.verdict === 'error' ? 'error' : 'ok',
          finishReason: null,
          errorMessage: j.verdict === 'error' ? (j.reason ?? 'failed') : null,
          reservationId: run.judgeReservationId,
          serviceTier: 'default',
        },
      });
    }
    const answered = ANSWERED.includes(r.outcome) && r.answer !== null;
    const exact = answered ? answersAgree(run.live.answer, r.answer!) : null;
    const decided = j !== null && (j.verdict === 'same' || j.verdict === 'different');
    await this.publisher.publish(shadowComparisonRecordedEvent, {
      id: run.comparisonEventId,
      ...address,
      data: {
        shadowRunId: run.id,
        route: 'reasoning',
        live: {
          model: run.live.model,
          answeredBy: run.live.answeredBy,
          latencyMs: run.live.latencyMs,
          usage: run.live.usage,
        },
        shadow: {
          model: run.model,
          serviceTier: r.servedTier,
          outcome: r.outcome,
          latencyMs: r.latencyMs,
          usage: r.usage,
          reservationId: run.reservationId,
          answer: r.answer,
          errorMessage: r.errorMessage?.slice(0, 2000) ?? null,
        },
        agreement: {
          method: decided ? 'judge' : 'normalised_exact',
          agreed: decided ? j.verdict === 'same' : exact,
          judge: j && {
            model: run.judgeModel!,
            verdict: j.verdict,
            reason: j.reason,
            latencyMs: j.latencyMs,
            usage: j.usage,
            reservationId: run.judgeReservationId,
          },
        },
        comparedAt: r.endedAt,
      },
    });
    await this.runs.markDone(this.sql, this.owner, run.id);
  }
}

function failed(outcome: ShadowOutcome, message: string, tier: ServiceTier): Omit<ShadowResult, 'endedAt'> {
  return {
    outcome,
    answer: null,
    usage: ZERO_USAGE,
    latencyMs: 0,
    servedTier: tier,
    finishReason: null,
    errorMessage: message.slice(0, 2000),
    aborted: false,
  };
}

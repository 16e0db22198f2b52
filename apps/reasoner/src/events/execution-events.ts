import {
  modelCallRecordedEvent,
  reasoningTraceRecordedEvent,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskReasoningStartedEvent,
  type ServiceTier,
  type TokenUsage,
  ZERO_USAGE,
} from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { CallReservations } from '@deliberate/ledger-client';
import { Outbox, type OutboxMessage } from '@deliberate/outbox';
import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import type { AttemptRecord, ExecutionOutcome, ExecutionRecord } from '../execution/execution-record';
import { reasoningMessages } from '../thought/reasoning-prompt';

const isZero = (u: TokenUsage) => u.inputTokens === 0 && u.outputTokens === 0;
// A call cut off (an abort, a lost lease, a crash) before it ended: the provider may bill it all the same.
const isCutOff = (a: AttemptRecord) => a.status === 'crashed' || a.result?.errorKind === 'aborted';
// The tier the ledger prices a call at: the one the provider served, else the one asked for (the default without).
const bookedTier = (a: AttemptRecord): ServiceTier => a.result?.servedTier ?? a.serviceTier ?? 'default';

// Every event an execution publishes, each with an id stored beside what it reports: after a crash the same events
// go out again with the same ids, which is what lets consumers (the ledger's bookings first) take them once. The
// terminal event is the outbox's: written with the outcome, published by its relay.
@Injectable()
export class ExecutionEvents {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly outbox: Outbox,
    private readonly reservations: CallReservations,
  ) {}

  async started(e: ExecutionRecord, a: AttemptRecord): Promise<void> {
    await this.publisher.publish(taskReasoningStartedEvent, {
      id: a.id,
      tenantId: e.tenantId,
      taskId: e.taskId,
      data: {
        executionId: e.id,
        attempt: a.attempt,
        tier: a.tier,
        model: a.model,
        maxCompletionTokens: a.maxCompletionTokens,
        reasoningEffort: a.reasoningEffort,
        deadlineAt: a.deadlineAt?.toISOString() ?? null,
        startedAt: a.startedAt.toISOString(),
        serviceTier: a.serviceTier,
        serviceTierReason: a.serviceTierReason,
      },
    });
  }

  /**
   * After a call's end is recorded: its usage event (every call has one, failed ones included, for the ledger and
   * the audit), its trace, and the ledger hold settled with the usage, or released when it consumed nothing.
   */
  async callEnded(e: ExecutionRecord, a: AttemptRecord): Promise<void> {
    const usage = a.usage ?? ZERO_USAGE;
    const events = () => Promise.all([this.usage(e, a, usage), this.trace(e, a)]);
    // Cut off (abort, lost lease, crash): the provider may bill it all the same.
    const aborted = isCutOff(a);
    if (!a.reservationId) {
      await events();
    } else if (isZero(usage) && aborted) {
      // Settled first, as aborted: booked at the hold's worst case, which the zero-usage event then repeats.
      await this.reservations.settle({
        reservationId: a.reservationId,
        usageEventId: a.usageEventId,
        model: a.model,
        usage,
        serviceTier: bookedTier(a),
        aborted: true,
      });
      await events();
    } else if (isZero(usage)) {
      // Released first: a zero-usage event reaching the ledger first would close the hold as settled at 0 instead.
      await this.reservations.release(
        a.reservationId,
        `${a.tier} call ended without usage: ${a.reason ?? 'no answer'}`,
      );
      await events();
    } else {
      await Promise.all([
        this.reservations.settle({
          reservationId: a.reservationId,
          usageEventId: a.usageEventId,
          model: a.model,
          usage,
          serviceTier: bookedTier(a),
        }),
        events(),
      ]);
    }
  }

  /**
   * The real usage of a call that ended after its execution was taken over and the attempt given up (booked then at
   * its hold's worst case): announced and settled under a usage event id of its own, so the ledger replaces that
   * booking with it. `a` carries the call's end and that id.
   */
  async lateCallEnded(e: ExecutionRecord, a: AttemptRecord): Promise<void> {
    const usage = a.usage ?? ZERO_USAGE;
    if (!a.reservationId || isZero(usage)) return;
    await Promise.all([
      this.reservations.settle({
        reservationId: a.reservationId,
        usageEventId: a.usageEventId,
        model: a.model,
        usage,
        serviceTier: bookedTier(a),
      }),
      this.usage(e, a, usage),
    ]);
  }

  /** The trace of an attempt that made no call because the ledger refused its reservation. */
  async budgetDenied(e: ExecutionRecord, a: AttemptRecord): Promise<void> {
    await this.trace(e, a);
  }

  /** Writes the terminal event in `tx`, beside the outcome; the caller relays it once that commits. */
  outcome(tx: Sql, e: ExecutionRecord, outcome: ExecutionOutcome): Promise<OutboxMessage> {
    const address = { tenantId: e.tenantId, taskId: e.taskId };
    switch (outcome.kind) {
      case 'completed':
        return this.outbox.add(tx, taskCompletedEvent, outcome.data, address);
      case 'failed':
        return this.outbox.add(tx, taskFailedEvent, outcome.data, address);
      case 'escalated':
        return this.outbox.add(tx, taskEscalatedEvent, outcome.data, address);
      case 'cancelled':
        return this.outbox.add(tx, taskCancelledEvent, outcome.data, address);
    }
  }

  private async usage(e: ExecutionRecord, a: AttemptRecord, usage: TokenUsage): Promise<void> {
    const answered = a.reason === null || a.reason === 'limit_hit' || a.reason === 'unusable_answer';
    const failed = a.status !== 'finished' || !answered;
    const aborted = isCutOff(a);
    await this.publisher.publish(modelCallRecordedEvent, {
      id: a.usageEventId,
      tenantId: e.tenantId,
      taskId: e.taskId,
      data: {
        callId: a.id,
        tier: a.tier,
        model: a.model,
        purpose: 'reason',
        usage,
        latencyMs: a.result?.latencyMs ?? 0,
        // A cut-off call without usage says so: reaching the ledger before its settle, it books the same worst case.
        outcome:
          aborted && isZero(usage)
            ? 'aborted'
            : failed
              ? 'error'
              : a.finishReason === 'length'
                ? 'length'
                : 'ok',
        finishReason: a.finishReason,
        errorMessage: failed ? (a.detail ?? a.reason ?? 'failed').slice(0, 2000) : null,
        reservationId: a.reservationId,
        serviceTier: a.serviceTier === null ? null : bookedTier(a),
      },
    });
  }

  private async trace(e: ExecutionRecord, a: AttemptRecord): Promise<void> {
    await this.publisher.publish(reasoningTraceRecordedEvent, {
      id: a.traceEventId,
      tenantId: e.tenantId,
      taskId: e.taskId,
      data: {
        executionId: e.id,
        attempt: a.attempt,
        tier: a.tier,
        model: a.model,
        prompt: reasoningMessages(e.spec),
        contextSelection: e.contextSelection,
        trace: a.result?.trace ?? null,
        providerReasoning: a.result?.providerReasoning ?? null,
        answer: a.result?.answer ?? null,
        parse: a.result?.parse ?? 'empty',
        finishReason: a.finishReason,
        usage: a.usage ?? ZERO_USAGE,
        outcome: a.outcome ?? 'error',
        recordedAt: (a.finishedAt ?? a.startedAt).toISOString(),
      },
    });
  }
}

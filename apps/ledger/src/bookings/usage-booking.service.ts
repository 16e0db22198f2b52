import type { ServiceTier, TokenUsage } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import { CostBreakerService } from '../breaker/cost-breaker.service';
import { limitFor, periodKeys } from '../spending/budget-periods';
import { type BudgetRecord, BudgetRepository } from '../spending/budget.repository';
import { type ObservedCounter, ThresholdMonitor } from '../budgets/threshold-monitor';
import { type OutboxMessage, OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { isZeroUsage, usageCostMicroUsd, usageInconsistency } from '../pricing/price-calculator';
import { LedgerMetrics } from '../metrics/ledger-metrics';
import { PriceCatalogue } from '../pricing/price-catalogue.service';
import { ReservationRepository } from '../spending/reservation.repository';
import { type BookingRecord, BookingRepository } from '../spending/booking.repository';
import { type CounterChange, SpendHolds } from '../spending/spend-holds';

/** One call's usage, from a usage.model-call.recorded.v1 event or a settle command. */
export interface UsageToBook {
  /** The usage event's id: a call is booked once per id, whichever path books it first. */
  eventId: string;
  /** Null for a settle: the reservation names the tenant. */
  tenantId: string | null;
  taskId: string | null;
  reservationId: string | null;
  callId: string | null;
  model: string;
  tier: string | null;
  purpose: string | null;
  outcome: string | null;
  usage: TokenUsage;
  /** The service tier the call was served at: priced at that tier's price (the default one when it has none). */
  serviceTier: ServiceTier;
  /** When the call happened: the price in force then is the one applied. */
  calledAt: Date;
  source: 'event' | 'settle';
  /** The call was cut off: with zero usage it is booked at its hold's worst case, since the provider may bill it. */
  aborted: boolean;
}

export type BookingOutcome =
  | { kind: 'booked'; tenantId: string; costMicroUsd: number; releasedMicroUsd: number; note: string | null }
  | { kind: 'duplicate'; costMicroUsd: number; releasedMicroUsd: number }
  | { kind: 'rejected'; message: string };

type TxResult =
  | {
      kind: 'booked';
      tenantId: string;
      costMicroUsd: number;
      releasedMicroUsd: number;
      /** What the booking added to the tenant's spend: its cost, less a blind abort's it replaced. */
      addedMicroUsd: number;
      note: string | null;
      outbox: OutboxMessage[];
      /** The tenant's own budget as the booking read it (null: none), for the breaker's check after the commit. */
      tenantBudget: BudgetRecord | null;
      /** The period counters as the booking left them, for the same check. */
      counters: CounterChange[];
    }
  | Exclude<BookingOutcome, { kind: 'booked' }>;

const describeUsage = (model: string, tier: ServiceTier, u: TokenUsage, cost: number) =>
  `model ${model} (${tier} tier), ${u.inputTokens} input (${u.cachedInputTokens} cached), ${u.outputTokens} output (${u.reasoningTokens} reasoning) = ${cost} micro-USD`;

// The same call booked again: same tenant, model, service tier and usage, and no other reservation.
function sameCall(
  existing: BookingRecord,
  replay: Pick<BookingRecord, 'tenantId' | 'model' | 'serviceTier' | 'usage' | 'reservationId'>,
): boolean {
  return (
    existing.tenantId === replay.tenantId &&
    existing.model === replay.model &&
    existing.serviceTier === replay.serviceTier &&
    existing.usage.inputTokens === replay.usage.inputTokens &&
    existing.usage.cachedInputTokens === replay.usage.cachedInputTokens &&
    existing.usage.outputTokens === replay.usage.outputTokens &&
    existing.usage.reasoningTokens === replay.usage.reasoningTokens &&
    (!existing.reservationId || !replay.reservationId || existing.reservationId === replay.reservationId)
  );
}

function conflict(existing: BookingRecord, replay: BookingRecord): string | null {
  if (sameCall(existing, replay)) return null;
  return (
    `usage event ${existing.eventId} is already booked with a different amount or model: booked ` +
    `${describeUsage(existing.model, existing.serviceTier, existing.usage, existing.costMicroUsd)} for tenant ${existing.tenantId}` +
    `${existing.reservationId ? ` on reservation ${existing.reservationId}` : ''}; now ` +
    `${describeUsage(replay.model, replay.serviceTier, replay.usage, replay.costMicroUsd)} for tenant ${replay.tenantId}` +
    `${replay.reservationId ? ` on reservation ${replay.reservationId}` : ''}`
  );
}

// Books what calls cost, exactly once per usage event id: against their reservation when they had one (the hold
// becomes spend and the rest is released, in the periods the hold was taken in), else straight into spend.
@Injectable()
export class UsageBookingService {
  constructor(
    private readonly sql: Sql,
    private readonly prices: PriceCatalogue,
    private readonly bookings: BookingRepository,
    private readonly reservations: ReservationRepository,
    private readonly holds: SpendHolds,
    private readonly budgets: BudgetRepository,
    private readonly thresholds: ThresholdMonitor,
    private readonly relay: OutboxRelay,
    private readonly breaker: CostBreakerService,
    private readonly metrics: LedgerMetrics,
  ) {}

  async book(input: UsageToBook): Promise<BookingOutcome> {
    const inconsistency = usageInconsistency(input.usage);
    if (inconsistency) return { kind: 'rejected', message: `inconsistent usage: ${inconsistency}` };
    // The usual order: the caller settles its call, then its usage event arrives under the same id. That replay
    // only adds the call's attribution: two statements, with no transaction, price lookup or lock on the
    // reservation (seven otherwise). Anything else, a conflicting replay included, takes the full path below.
    if (input.source === 'event' && input.tenantId !== null) {
      const existing = await this.bookings.findByEventId(this.sql, input.eventId);
      if (existing && sameCall(existing, { ...input, tenantId: input.tenantId })) {
        await this.bookings.fillAttribution(this.sql, input.eventId, input);
        // No reply carries what a usage event released: that is the settle's answer.
        return { kind: 'duplicate', costMicroUsd: existing.costMicroUsd, releasedMicroUsd: 0 };
      }
    }
    const price = await this.prices.priceAt(input.model, input.calledAt, input.serviceTier);
    // A call that consumed nothing costs nothing at any price; any other call needs a price, never a guess of zero.
    if (!price && !isZeroUsage(input.usage))
      return { kind: 'rejected', message: `no price for model ${input.model}` };
    const usageCost = price ? usageCostMicroUsd(input.usage, price) : 0;

    const result = await this.sql.transaction(async (tx): Promise<TxResult> => {
      const reservation = input.reservationId ? await this.reservations.lock(tx, input.reservationId) : null;
      if (!reservation && input.source === 'settle') {
        return { kind: 'rejected', message: `unknown reservation ${input.reservationId}` };
      }
      const tenantId = input.tenantId ?? reservation!.tenantId;
      if (reservation && reservation.tenantId !== tenantId) {
        return {
          kind: 'rejected',
          message: `reservation ${reservation.id} belongs to tenant ${reservation.tenantId}, not ${tenantId}`,
        };
      }
      // An aborted call the provider reported nothing for may still be billed in full: it costs its worst case.
      const blindAbort = input.aborted && reservation !== null && isZeroUsage(input.usage);
      // What a settled reservation booked already, when another usage event comes for it: a blind abort's worst
      // case gives way to the call's real usage (a stalled caller that got its answer after all), and a blind abort
      // after any booking adds nothing; the call is booked once either way.
      const earlier =
        reservation?.status === 'settled' &&
        reservation.usageEventId &&
        reservation.usageEventId !== input.eventId
          ? await this.bookings.findByEventId(tx, reservation.usageEventId)
          : null;
      const replaces =
        !blindAbort && earlier?.aborted && earlier.supersededByEventId === null ? earlier : null;
      const alreadyBooked = blindAbort && earlier !== null ? earlier : null;
      const cost = alreadyBooked ? 0 : blindAbort ? reservation.amountMicroUsd : usageCost;
      const exceeded =
        reservation && cost > reservation.amountMicroUsd ? cost - reservation.amountMicroUsd : null;
      const booking: BookingRecord = {
        eventId: input.eventId,
        tenantId,
        taskId: input.taskId ?? reservation?.taskId ?? null,
        reservationId: input.reservationId,
        apiKeyId: reservation?.apiKeyId ?? null,
        project: reservation?.project ?? null,
        callId: input.callId,
        model: input.model,
        serviceTier: input.serviceTier,
        tier: input.tier,
        purpose: input.purpose,
        outcome: input.outcome,
        usage: input.usage,
        costMicroUsd: cost,
        priceId: blindAbort ? reservation.priceId : (price?.id ?? null),
        eventTime: input.calledAt,
        source: input.source,
        exceededHoldMicroUsd: exceeded,
        aborted: blindAbort,
        supersedesEventId: replaces?.eventId ?? null,
        supersededByEventId: alreadyBooked?.eventId ?? null,
        shadow: reservation?.shadow ?? false,
      };
      if (!(await this.bookings.insertIfAbsent(tx, booking))) {
        const existing = await this.bookings.findByEventId(tx, input.eventId);
        if (!existing) throw new Error(`booking ${input.eventId} conflicted but cannot be read`);
        const problem = conflict(existing, booking);
        if (problem) return { kind: 'rejected', message: problem };
        await this.bookings.fillAttribution(tx, input.eventId, booking);
        return {
          kind: 'duplicate',
          costMicroUsd: existing.costMicroUsd,
          releasedMicroUsd: reservation?.releasedMicroUsd ?? 0,
        };
      }

      // Read before the counters move: the tenant's hot counter rows are held from that statement to the commit.
      const budgets = await this.budgets.findApplicable(
        tx,
        tenantId,
        reservation?.apiKeyId ?? null,
        reservation?.project ?? null,
      );
      let observed: CounterChange[] = [];
      let released = 0;
      let note: string | null = null;
      if (reservation?.status === 'active') {
        const settled = await this.holds.settle(tx, reservation, input.eventId, cost);
        observed = settled.changes;
        released = settled.releasedMicroUsd;
      } else if (replaces) {
        const replaced =
          `the call's real usage replaced the aborted booking ${replaces.eventId} of ${replaces.costMicroUsd} ` +
          `micro-USD (its hold's worst case) with ${cost}`;
        await this.bookings.markSuperseded(tx, replaces.eventId, input.eventId);
        const rebooked = await this.holds.rebook(
          tx,
          reservation!,
          input.eventId,
          replaces.costMicroUsd,
          cost,
          replaced,
        );
        observed = rebooked.changes;
        released = rebooked.releasedMicroUsd;
        note = `reservation ${reservation!.id}: ${replaced}`;
      } else if (alreadyBooked) {
        note =
          `reservation ${reservation!.id} was already booked by usage event ${alreadyBooked.eventId} ` +
          `(${alreadyBooked.costMicroUsd} micro-USD): this aborted call adds nothing`;
      } else {
        // A failed or cancelled call's hold is released before its zero-usage event arrives: that is the normal path.
        if (reservation && cost > 0)
          note = `reservation ${reservation.id} was already ${reservation.status}: booked without its hold`;
        else if (input.reservationId)
          note = `reservation ${input.reservationId} is unknown: booked as unreserved usage`;
        if (cost > 0) {
          // The money is spent: booked without a limit check. A late call lands in its reservation's periods.
          const now = new Date();
          const keys =
            reservation?.counterKeys ??
            periodKeys('tenant', tenantId, input.calledAt < now ? input.calledAt : now);
          if (reservation) await this.reservations.noteLateUsage(tx, reservation.id, input.eventId, cost);
          const taskId = reservation?.shadow ? null : booking.taskId;
          observed = await this.holds.addSpent(tx, tenantId, keys, taskId, cost);
        }
      }

      const limited: ObservedCounter[] = [];
      for (const o of observed) {
        const budget = budgets.find((b) => b.scope === o.key.scope && b.scopeId === o.key.scopeId);
        const limit = budget ? limitFor(budget, o.key) : null;
        if (budget && limit !== null)
          limited.push({ budget, key: o.key, limitMicroUsd: limit, state: o.state });
      }
      const outbox = await this.thresholds.record(tx, tenantId, limited);
      if (exceeded !== null && reservation?.shadow) {
        // A shadow call is never acted on: it is booked in full, and live work goes on.
        const excess = `the shadow call on reservation ${reservation.id} cost ${cost} micro-USD, ${exceeded} more than its hold`;
        note = note ? `${note}; ${excess}` : excess;
      } else if (exceeded !== null) {
        // Booked in full all the same (the provider bills it); the worst case was wrong, so paid work stops.
        const excess =
          `the call on reservation ${reservation!.id} cost ${cost} micro-USD, ${exceeded} more than its hold of ` +
          `${reservation!.amountMicroUsd} micro-USD (${describeUsage(input.model, input.serviceTier, input.usage, cost)})`;
        const flagged = `${excess}: it exceeded its hold, was booked in full and opened the tenant's cost breaker`;
        note = note ? `${note}; ${flagged}` : flagged;
        outbox.push(...(await this.breaker.openForExcess(tx, tenantId, excess, new Date())));
      }
      const tenantBudget = budgets.find((b) => b.scope === 'tenant' && b.scopeId === tenantId) ?? null;
      return {
        kind: 'booked',
        tenantId,
        costMicroUsd: cost,
        releasedMicroUsd: released,
        // A counter cannot go down: real usage below the worst case it replaces adds nothing.
        addedMicroUsd: replaces ? Math.max(0, cost - replaces.costMicroUsd) : cost,
        note,
        outbox,
        tenantBudget,
        counters: observed,
      };
    });

    if (result.kind !== 'booked') return result;
    this.metrics.booked(result.tenantId, result.addedMicroUsd);
    await this.relay.publish(result.outbox);
    if (result.costMicroUsd > 0)
      await this.breaker.afterBooking(result.tenantId, result.tenantBudget, result.counters);
    return {
      kind: 'booked',
      tenantId: result.tenantId,
      costMicroUsd: result.costMicroUsd,
      releasedMicroUsd: result.releasedMicroUsd,
      note: result.note,
    };
  }
}

import {
  type BudgetDeniedAction,
  type ReleaseReply,
  releaseRequestSchema,
  type ReservationDenialReason,
  type ReserveReply,
  reserveRequestSchema,
  type SettleReply,
  settleRequestSchema,
  usdToMicroUsd,
  uuidv7,
} from '@deliberate/contracts';
import { formatZodIssues } from '@deliberate/kafka';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { z } from 'zod';
import { UsageBookingService } from '../bookings/usage-booking.service';
import { CostBreakerService } from '../breaker/cost-breaker.service';
import { describeScope } from '../spending/budget-periods';
import { BudgetRepository } from '../spending/budget.repository';
import { type ObservedCounter, ThresholdMonitor } from '../budgets/threshold-monitor';
import { LEDGER_CONFIG, type LedgerConfig } from '../config';
import { DenialsService } from '../denials/denials.service';
import { LedgerMetrics } from '../metrics/ledger-metrics';
import { SpendCounterRepository } from '../spending/spend-counter.repository';
import { OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import { worstCaseMicroUsd } from '../pricing/price-calculator';
import { PriceCatalogue } from '../pricing/price-catalogue.service';
import { reserveFingerprint } from './reservation-key';
import { type PlannedHold, planHolds, planShadowHold, taskCeiling, toCounterKey } from './reservation-plan';
import { type ReservationRecord, ReservationRepository } from '../spending/reservation.repository';
import { SpendHolds } from '../spending/spend-holds';

type ReserveDenial = Extract<ReserveReply, { approved: false }>;

/** A settle or release request that fails its schema: answered with an error, as retrying cannot help. */
export class InvalidLedgerRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidLedgerRequest';
  }
}

// Thrown inside the reservation transaction to roll back every hold taken before the limit that refused.
// For the denials table it carries the worst case the call asked to hold (null when it could not be priced), and
// what the tenant's policy has callers do after it: a task ceiling too is a budget denial to them.
class ReservationDenied extends Error {
  constructor(
    readonly denial: ReserveDenial,
    readonly estimatedCostMicroUsd: number | null,
    readonly onDenied: BudgetDeniedAction | null,
  ) {
    super(denial.message);
  }
}

// Thrown inside the transaction when another delivery of the same request, or another request under the same
// reservation key, got its reservation in first.
class DuplicateRequest extends Error {}

type ValidReserve = z.output<typeof reserveRequestSchema>;

/** Where a reserve request came from: its correlation id makes a redelivery answer as the first delivery did. */
export interface ReserveDelivery {
  requestId: string | null;
  ageMs: number | null;
}

const approvedReply = (r: ReservationRecord): ReserveReply => ({
  approved: true,
  reservationId: r.id,
  amountMicroUsd: r.amountMicroUsd,
  expiresAt: r.expiresAt.toISOString(),
});

// A retry gets the reservation it made, whatever became of it since (settled, released): the same id and amount,
// and no second hold. A different request under the key is refused, as approving it would hold for a call twice.
function answerEarlier(earlier: ReservationRecord, req: ValidReserve): ReserveReply {
  const sameKey = req.reservationKey !== null && earlier.reservationKey === req.reservationKey;
  if (sameKey && earlier.requestFingerprint !== reserveFingerprint(req)) {
    return deny(
      'invalid_request',
      `reservation key '${req.reservationKey}' of tenant '${req.tenantId}' already holds reservation ${earlier.id} ` +
        `for a different request (task ${earlier.taskId}, model ${earlier.model}); each paid call needs its own key`,
    );
  }
  return approvedReply(earlier);
}

const deny = (
  reason: ReservationDenialReason,
  message: string,
  policy: BudgetDeniedAction | null = null,
): ReserveDenial => ({
  approved: false,
  reason,
  message,
  policy,
});

// Authorize-then-capture. A reservation holds the worst case of a call on every counter that limits it, all in one
// transaction where each hold is a single conditional UPDATE: two instances, or a thousand concurrent requests, can
// never approve past a limit. Settling books the actual cost and releases the rest; releasing frees the hold.
@Injectable()
export class ReservationService {
  private readonly logger = new Logger(ReservationService.name);

  constructor(
    private readonly sql: Sql,
    private readonly prices: PriceCatalogue,
    private readonly budgets: BudgetRepository,
    private readonly counters: SpendCounterRepository,
    private readonly reservations: ReservationRepository,
    private readonly holds: SpendHolds,
    private readonly thresholds: ThresholdMonitor,
    private readonly relay: OutboxRelay,
    private readonly breaker: CostBreakerService,
    private readonly bookings: UsageBookingService,
    private readonly policies: TenantPolicyCache,
    private readonly denials: DenialsService,
    private readonly metrics: LedgerMetrics,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  /** Never throws: every failure is a denial, as a caller must not spend without an approval. */
  async reserve(
    raw: unknown,
    delivery: ReserveDelivery = { requestId: null, ageMs: null },
  ): Promise<ReserveReply> {
    const reply = await this.answer(raw, delivery);
    if (!reply.approved) this.metrics.denied(reply.reason);
    return reply;
  }

  private async answer(raw: unknown, delivery: ReserveDelivery): Promise<ReserveReply> {
    const parsed = reserveRequestSchema.safeParse(raw);
    if (!parsed.success) {
      return deny('invalid_request', `invalid reserve request: ${formatZodIssues(parsed.error)}`);
    }
    if (delivery.ageMs !== null && delivery.ageMs > this.config.LEDGER_REQUEST_MAX_AGE_MS) {
      // Its caller stopped waiting for this request long ago (it asks again under the same reservation key, or is
      // past its deadline): holding budget for it helps no one, and the answer is not a verdict.
      return deny(
        'ledger_unavailable',
        `the request waited ${delivery.ageMs} ms for the ledger; no hold was taken`,
      );
    }
    const { requestId } = delivery;
    const req = parsed.data;
    try {
      // No lookup first: a repeated request (the same delivery, or the same call under its reservation key) is
      // told by its reservation's insert, which comes before any hold, and answered below as the first one was.
      return await this.reserveValid(req, requestId);
    } catch (e) {
      let failure = e;
      if (e instanceof ReservationDenied || e instanceof DuplicateRequest) {
        try {
          // The earlier reservation is the answer, never a denial of a call that was approved: a repeat is refused
          // by its breaker or budget only because its first delivery holds the room, or a twin committed first.
          const earlier = await this.findEarlier(req, requestId);
          if (earlier) return answerEarlier(earlier, req);
          if (e instanceof ReservationDenied) {
            // A verdict on a new request: recorded for the spend view (once per request), never throwing.
            await this.denials.record({
              request: req,
              requestId,
              denial: e.denial,
              estimatedCostMicroUsd: e.estimatedCostMicroUsd,
              onDenied: e.onDenied,
            });
            return e.denial;
          }
        } catch (lookup) {
          failure = lookup;
        }
      }
      this.logger.error({
        msg: 'reservation failed',
        error: (failure as Error).message,
        tenantId: req.tenantId,
      });
      return deny(
        'ledger_unavailable',
        `the ledger could not record the reservation: ${(failure as Error).message}`,
      );
    }
  }

  // The same delivery again (by its correlation id), or the same call asked again (by its reservation key).
  private async findEarlier(req: ValidReserve, requestId: string | null): Promise<ReservationRecord | null> {
    if (!requestId && !req.reservationKey) return null;
    return this.reservations.findEarlier(this.sql, requestId, req.tenantId, req.reservationKey);
  }

  private async reserveValid(req: ValidReserve, requestId: string | null): Promise<ReserveReply> {
    const now = new Date();
    const price = await this.prices.priceAt(req.model, now, req.serviceTier);
    if (!price) {
      throw new ReservationDenied(
        deny('no_price', `no price for model ${req.model}: add it to the ledger's catalogue (LEDGER_PRICES)`),
        null,
        null,
      );
    }
    const amount = worstCaseMicroUsd(req.estimatedInputTokens, req.maxOutputTokens, price);
    const id = uuidv7(now.getTime());
    const expiresAt = new Date(now.getTime() + (req.ttlMs ?? this.config.LEDGER_RESERVATION_TTL_MS));

    // What the tenant asks a denied caller to do; read now, so a policy changed since a breaker opened applies.
    const policy = this.policies.policyOf(req.tenantId);
    const onDenied = policy.onBudgetDenied;
    if (req.shadow) {
      // A shadow call holds on its own counter, within the shadow budget the policy names now.
      if (!policy.shadow) {
        throw new ReservationDenied(
          deny(
            'shadow_budget_exceeded',
            `tenant '${req.tenantId}' has no shadow route in its policy: shadow calls have no budget`,
          ),
          amount,
          null,
        );
      }
      const hold = planShadowHold(req.tenantId, usdToMicroUsd(policy.shadow.dailyBudgetUsd), now);
      await this.holdShadow(req, requestId, { id, price: price.id, amount, expiresAt, now }, hold);
      return {
        approved: true,
        reservationId: id,
        amountMicroUsd: amount,
        expiresAt: expiresAt.toISOString(),
      };
    }
    const outbox = await this.sql.transaction(async (tx) => {
      const breaker = await this.breaker.findOpen(tx, req.tenantId);
      // Under route_cheap the breaker stops the dear tiers only: the fast tier keeps answering, within the budgets.
      if (breaker && !(onDenied === 'route_cheap' && req.tier === 'fast')) {
        throw new ReservationDenied(
          deny(
            'breaker_open',
            `the cost breaker of tenant '${req.tenantId}' is open (${breaker.message ?? breaker.reason}); ` +
              `it is checked again at ${breaker.retryAt?.toISOString() ?? 'the next sweep'}`,
            onDenied,
          ),
          amount,
          onDenied,
        );
      }
      const budgets = await this.budgets.findApplicable(tx, req.tenantId, req.apiKeyId, req.project);
      const holds = planHolds(req.tenantId, budgets, req.apiKeyId, req.project, now);
      // Lock order: the reservation, the task's counter, then the period counters (see SpendHolds). A repeated
      // request stops at its reservation, before any hold; the tenant's hot day and month rows come last.
      const inserted = await this.reservations.insertIfNewRequest(tx, {
        id,
        requestId,
        reservationKey: req.reservationKey,
        requestFingerprint: req.reservationKey ? reserveFingerprint(req) : null,
        tenantId: req.tenantId,
        taskId: req.taskId,
        apiKeyId: req.apiKeyId,
        project: req.project,
        model: req.model,
        priceId: price.id,
        amountMicroUsd: amount,
        counterKeys: holds.map(toCounterKey),
        shadow: false,
        createdAt: now,
        expiresAt,
      });
      if (!inserted) throw new DuplicateRequest();
      const ceiling = taskCeiling(budgets, req.taskCeilingMicroUsd);
      if (!(await this.counters.tryHoldTask(tx, req.tenantId, req.taskId, amount, ceiling))) {
        const task = await this.counters.readTask(tx, req.tenantId, req.taskId);
        throw new ReservationDenied(
          deny(
            'task_ceiling_exceeded',
            `task ${req.taskId} would pass its ceiling of ${ceiling} micro-USD: ${task.spentMicroUsd} spent and ` +
              `${task.reservedMicroUsd} held; this call may cost up to ${amount} micro-USD`,
          ),
          amount,
          onDenied,
        );
      }
      const outcome = await this.counters.holdAll(
        tx,
        req.tenantId,
        holds.map((hold) => ({ key: toCounterKey(hold), limitMicroUsd: hold.limitMicroUsd })),
        amount,
      );
      if (!outcome.held) {
        const hold = holds[outcome.refused]!;
        const current = outcome.state;
        throw new ReservationDenied(
          deny(
            'budget_exceeded',
            `${hold.period === 'day' ? 'daily' : 'monthly'} budget of ${describeScope(hold.scope, hold.scopeId)} ` +
              `exceeded: limit ${hold.limitMicroUsd} micro-USD, ${current.spentMicroUsd} spent and ` +
              `${current.reservedMicroUsd} held since ${hold.periodStart}; this call may cost up to ${amount} micro-USD`,
            onDenied,
          ),
          amount,
          onDenied,
        );
      }
      const observed: ObservedCounter[] = [];
      holds.forEach((hold, i) => {
        if (hold.budget && hold.limitMicroUsd !== null) {
          observed.push({
            budget: hold.budget,
            key: toCounterKey(hold),
            limitMicroUsd: hold.limitMicroUsd,
            state: outcome.states[i]!,
          });
        }
      });
      return this.thresholds.record(tx, req.tenantId, observed);
    });
    await this.relay.publish(outbox);
    return {
      approved: true,
      reservationId: id,
      amountMicroUsd: amount,
      expiresAt: expiresAt.toISOString(),
    };
  }

  // One transaction: the reservation, then the shadow counter, held only within the shadow budget of the day. No
  // breaker, budget scope or task ceiling is consulted or moved: live tasks never see it.
  private async holdShadow(
    req: ValidReserve,
    requestId: string | null,
    r: { id: string; price: number; amount: number; expiresAt: Date; now: Date },
    hold: PlannedHold,
  ): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const inserted = await this.reservations.insertIfNewRequest(tx, {
        id: r.id,
        requestId,
        reservationKey: req.reservationKey,
        requestFingerprint: req.reservationKey ? reserveFingerprint(req) : null,
        tenantId: req.tenantId,
        taskId: req.taskId,
        apiKeyId: req.apiKeyId,
        project: req.project,
        model: req.model,
        priceId: r.price,
        amountMicroUsd: r.amount,
        counterKeys: [toCounterKey(hold)],
        shadow: true,
        createdAt: r.now,
        expiresAt: r.expiresAt,
      });
      if (!inserted) throw new DuplicateRequest();
      const outcome = await this.counters.holdAll(
        tx,
        req.tenantId,
        [{ key: toCounterKey(hold), limitMicroUsd: hold.limitMicroUsd }],
        r.amount,
      );
      if (!outcome.held) {
        const current = outcome.state;
        throw new ReservationDenied(
          deny(
            'shadow_budget_exceeded',
            `daily shadow budget of tenant '${req.tenantId}' exceeded: limit ${hold.limitMicroUsd} micro-USD, ` +
              `${current.spentMicroUsd} spent and ${current.reservedMicroUsd} held since ${hold.periodStart}; ` +
              `this shadow call may cost up to ${r.amount} micro-USD`,
          ),
          r.amount,
          null,
        );
      }
    });
  }

  async settle(raw: unknown): Promise<SettleReply> {
    const parsed = settleRequestSchema.safeParse(raw);
    if (!parsed.success)
      throw new InvalidLedgerRequest(`invalid settle request: ${formatZodIssues(parsed.error)}`);
    const req = parsed.data;
    const outcome = await this.bookings.book({
      eventId: req.usageEventId,
      tenantId: null,
      taskId: null,
      reservationId: req.reservationId,
      callId: null,
      model: req.model,
      tier: null,
      purpose: null,
      outcome: null,
      usage: req.usage,
      serviceTier: req.serviceTier,
      calledAt: new Date(),
      source: 'settle',
      aborted: req.aborted,
    });
    switch (outcome.kind) {
      case 'booked':
        return {
          booked: true,
          costMicroUsd: outcome.costMicroUsd,
          releasedMicroUsd: outcome.releasedMicroUsd,
          message: outcome.note,
        };
      case 'duplicate':
        return {
          booked: true,
          costMicroUsd: outcome.costMicroUsd,
          releasedMicroUsd: outcome.releasedMicroUsd,
          message: `usage event ${req.usageEventId} was already booked`,
        };
      case 'rejected':
        return { booked: false, costMicroUsd: 0, releasedMicroUsd: 0, message: outcome.message };
    }
  }

  async release(raw: unknown): Promise<ReleaseReply> {
    const parsed = releaseRequestSchema.safeParse(raw);
    if (!parsed.success)
      throw new InvalidLedgerRequest(`invalid release request: ${formatZodIssues(parsed.error)}`);
    const { reservationId, reason } = parsed.data;
    return this.sql.transaction(async (tx) => {
      const reservation = await this.reservations.lock(tx, reservationId);
      if (!reservation) return { released: false, releasedMicroUsd: 0 };
      // A retried release answers as the first one did.
      if (reservation.status === 'released') {
        return {
          released: true,
          releasedMicroUsd: reservation.releasedMicroUsd ?? reservation.amountMicroUsd,
        };
      }
      if (reservation.status !== 'active') return { released: false, releasedMicroUsd: 0 };
      await this.holds.release(tx, [reservation], 'released', reason || 'released by the caller');
      return { released: true, releasedMicroUsd: reservation.amountMicroUsd };
    });
  }

  /** The sweeper's step: releases a batch of expired holds (a caller that crashed between reserve and settle). */
  async expireDue(limit: number): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const expired = await this.reservations.claimExpired(tx, limit);
      if (!expired.length) return 0;
      await this.holds.release(tx, expired, 'expired', 'expired before it was settled or released');
      return expired.length;
    });
  }
}

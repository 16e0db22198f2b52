import {
  budgetBreakerClosedEvent,
  type BudgetBreakerClosed,
  budgetBreakerOpenedEvent,
  type BudgetBreakerOpened,
} from '@deliberate/contracts';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { BookingRepository } from '../spending/booking.repository';
import { limitFor, periodKeys } from '../spending/budget-periods';
import { type BudgetRecord, BudgetRepository } from '../spending/budget.repository';
import { LEDGER_CONFIG, type LedgerConfig } from '../config';
import { SpendCounterRepository } from '../spending/spend-counter.repository';
import type { CounterChange } from '../spending/spend-holds';
import { Outbox, type OutboxMessage, OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import { type BreakerRecord, BreakerRepository, type BreakerTripReason } from './breaker.repository';

interface Trip {
  reason: BreakerTripReason;
  message: string;
  windowSpendMicroUsd: number;
}

const CLAIM_BATCH = 100;
// The window a tenant without a budget is watched over (a budget's default).
const DEFAULT_WINDOW_SECONDS = 60;

const CLOSING_REASONS: Record<BreakerTripReason, string> = {
  spend_rate: 'the spend rate is back within its limit',
  budget_exhausted: 'the budget has room again',
  exceeded_hold: 'no budget or spend rate keeps it open after the call that cost more than its hold',
};

// The per-tenant cost circuit breaker. It opens when the spend of the budget's sliding window passes its rate (a
// runaway loop) or when a hard budget of the tenant is spent; after the cool-down the sweeper checks again and closes
// it once the condition is gone. While it is open every reservation is denied.
@Injectable()
export class CostBreakerService {
  private readonly logger = new Logger(CostBreakerService.name);

  constructor(
    private readonly sql: Sql,
    private readonly breakers: BreakerRepository,
    private readonly budgets: BudgetRepository,
    private readonly bookings: BookingRepository,
    private readonly counters: SpendCounterRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly policies: TenantPolicyCache,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async findOpen(sql: Sql, tenantId: string): Promise<BreakerRecord | null> {
    const breaker = await this.breakers.find(sql, tenantId);
    return breaker?.state === 'open' ? breaker : null;
  }

  /**
   * Called after spend was booked, with the tenant's budget as the booking read it (null: none) and the period
   * counters as the booking left them; never throws (the booking stands whatever happens here). In the usual case
   * (no spend-rate limit, budget not spent) it sends no statement.
   */
  async afterBooking(
    tenantId: string,
    tenantBudget: BudgetRecord | null,
    counters: readonly CounterChange[],
  ): Promise<void> {
    try {
      if (!tenantBudget) return;
      const now = new Date();
      const trip = await this.evaluate(this.sql, tenantId, tenantBudget, now, counters);
      if (!trip || (await this.findOpen(this.sql, tenantId))) return;
      const messages = await this.sql.transaction((tx) => this.open(tx, tenantId, tenantBudget, trip, now));
      await this.relay.publish(messages);
    } catch (e) {
      this.logger.error({ msg: 'cost breaker check failed', tenantId, error: (e as Error).message });
    }
  }

  /**
   * Opens the breaker, in the transaction that books it, for a call that cost more than its hold: the ledger's worst
   * case was wrong for it, so paid work stops until the cool-down is over and someone can look.
   */
  async openForExcess(tx: Sql, tenantId: string, message: string, now: Date): Promise<OutboxMessage[]> {
    const budget = await this.budgets.find(tx, tenantId, 'tenant', tenantId);
    const windowSeconds = budget?.breakerWindowSeconds ?? DEFAULT_WINDOW_SECONDS;
    const windowSpend = await this.bookings.spendSince(
      tx,
      tenantId,
      new Date(now.getTime() - windowSeconds * 1_000),
    );
    return this.open(
      tx,
      tenantId,
      budget,
      { reason: 'exceeded_hold', message, windowSpendMicroUsd: windowSpend },
      now,
    );
  }

  private async open(
    tx: Sql,
    tenantId: string,
    budget: BudgetRecord | null,
    trip: Trip,
    now: Date,
  ): Promise<OutboxMessage[]> {
    const retryAt = new Date(now.getTime() + this.config.LEDGER_BREAKER_COOLDOWN_MS);
    const policy = this.policies.policyOf(tenantId).onBudgetDenied;
    const windowSeconds = budget?.breakerWindowSeconds ?? DEFAULT_WINDOW_SECONDS;
    const opened = await this.breakers.tryOpen(tx, {
      tenantId,
      ...trip,
      policy,
      windowSeconds,
      openedAt: now,
      retryAt,
    });
    if (!opened) return [];
    this.logger.warn({ msg: 'cost breaker opened', tenantId, ...trip });
    const event: BudgetBreakerOpened = {
      reason: trip.reason,
      message: trip.message,
      policy,
      windowSeconds,
      windowSpendMicroUsd: trip.windowSpendMicroUsd,
      openedAt: now.toISOString(),
      retryAt: retryAt.toISOString(),
    };
    return [await this.outbox.add(tx, budgetBreakerOpenedEvent, event, { tenantId })];
  }

  /** The sweeper's half-open step: closes each breaker whose cool-down is over and whose condition is gone. */
  async reevaluateDue(): Promise<number> {
    const messages = await this.sql.transaction(async (tx) => {
      const due = await this.breakers.claimDue(tx, CLAIM_BATCH);
      const closed: OutboxMessage[] = [];
      for (const breaker of due) {
        const now = new Date();
        const budget = await this.budgets.find(tx, breaker.tenantId, 'tenant', breaker.tenantId);
        const trip = budget ? await this.evaluate(tx, breaker.tenantId, budget, now) : null;
        if (trip) {
          const retryAt = new Date(now.getTime() + this.config.LEDGER_BREAKER_COOLDOWN_MS);
          await this.breakers.extend(tx, breaker.tenantId, retryAt, trip.message, trip.windowSpendMicroUsd);
          continue;
        }
        if (!(await this.breakers.close(tx, breaker.tenantId))) continue;
        const event: BudgetBreakerClosed = {
          closedAt: now.toISOString(),
          message: `cool-down over and ${CLOSING_REASONS[breaker.reason ?? 'budget_exhausted']}`,
        };
        closed.push(
          await this.outbox.add(tx, budgetBreakerClosedEvent, event, { tenantId: breaker.tenantId }),
        );
      }
      return closed;
    });
    for (const m of messages) this.logger.log({ msg: 'cost breaker closed', tenantId: m.tenantId });
    await this.relay.publish(messages);
    return messages.length;
  }

  // Why the breaker should be open now, if it should. `known`: counters a booking just left, read instead of asked
  // for; the window's spend is summed only under a spend-rate limit or for a trip's report.
  private async evaluate(
    sql: Sql,
    tenantId: string,
    budget: BudgetRecord,
    now: Date,
    known: readonly CounterChange[] = [],
  ): Promise<Trip | null> {
    const windowStart = new Date(now.getTime() - budget.breakerWindowSeconds * 1_000);
    const max = budget.breakerMaxSpendMicroUsd;
    let windowSpend: number | null = null;
    if (max !== null) {
      windowSpend = await this.bookings.spendSince(sql, tenantId, windowStart);
      if (windowSpend > max) {
        return {
          reason: 'spend_rate',
          message: `spent ${windowSpend} micro-USD in the last ${budget.breakerWindowSeconds} s, over the ${max} micro-USD the breaker allows`,
          windowSpendMicroUsd: windowSpend,
        };
      }
    }
    for (const key of periodKeys('tenant', tenantId, now)) {
      const limit = limitFor(budget, key);
      if (limit === null) continue;
      const seen = known.find(
        (c) =>
          c.key.scope === 'tenant' &&
          c.key.scopeId === tenantId &&
          c.key.period === key.period &&
          c.key.periodStart === key.periodStart,
      );
      const { spentMicroUsd } = seen ? seen.state : await this.counters.read(sql, tenantId, key);
      if (spentMicroUsd >= limit) {
        return {
          reason: 'budget_exhausted',
          message: `the ${key.period === 'day' ? 'daily' : 'monthly'} budget of ${limit} micro-USD is spent (${spentMicroUsd} micro-USD since ${key.periodStart})`,
          windowSpendMicroUsd: windowSpend ?? (await this.bookings.spendSince(sql, tenantId, windowStart)),
        };
      }
    }
    return null;
  }
}

import { budgetThresholdCrossedEvent, type BudgetThresholdCrossed, uuidv7 } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { CounterState } from '../spending/spend-counter.repository';
import { Outbox, type OutboxMessage } from '@deliberate/outbox';
import type { Sql } from '@deliberate/persistence';
import { type CounterKey, counterSortKey } from '../spending/budget-periods';
import type { BudgetRecord } from '../spending/budget.repository';
import { ThresholdCrossingRepository } from './threshold-crossing.repository';

/** A counter as a transaction left it, with the budget limit that applies to it. */
export interface ObservedCounter {
  budget: BudgetRecord;
  key: CounterKey;
  limitMicroUsd: number;
  state: CounterState;
}

const MAX_REMEMBERED = 100_000;

// Soft thresholds: when spend plus holds of a period reaches a threshold, one row and one outbox event, in the same
// transaction as the change that reached it (a rolled-back change crosses nothing).
@Injectable()
export class ThresholdMonitor {
  // Crossings known to be committed: skips the insert attempt on every later change of a period past its threshold.
  private readonly committed = new Set<string>();

  constructor(
    private readonly crossings: ThresholdCrossingRepository,
    private readonly outbox: Outbox,
  ) {}

  async record(tx: Sql, tenantId: string, observed: readonly ObservedCounter[]): Promise<OutboxMessage[]> {
    const messages: OutboxMessage[] = [];
    for (const o of observed) {
      const used = o.state.spentMicroUsd + o.state.reservedMicroUsd;
      for (const percent of o.budget.softThresholdPercents) {
        if (BigInt(used) * 100n < BigInt(o.limitMicroUsd) * BigInt(percent)) continue;
        const memo = `${counterSortKey(tenantId, o.key)}\u0000${percent}`;
        if (this.committed.has(memo)) continue;
        const id = uuidv7();
        const inserted = await this.crossings.insertIfAbsent(tx, {
          id,
          tenantId,
          key: o.key,
          thresholdPercent: percent,
          limitMicroUsd: o.limitMicroUsd,
          usedMicroUsd: used,
        });
        if (!inserted) {
          // ON CONFLICT waited for any transaction inserting the same row: the crossing is committed.
          if (this.committed.size >= MAX_REMEMBERED) this.committed.clear();
          this.committed.add(memo);
          continue;
        }
        const event: BudgetThresholdCrossed = {
          // Only a budget's counters are observed: their scope is the budget's.
          scope: o.budget.scope,
          scopeId: o.key.scopeId,
          period: o.key.period,
          periodStart: o.key.periodStart,
          thresholdPercent: percent,
          limitMicroUsd: o.limitMicroUsd,
          usedMicroUsd: used,
        };
        messages.push(await this.outbox.add(tx, budgetThresholdCrossedEvent, event, { tenantId }));
      }
    }
    return messages;
  }
}

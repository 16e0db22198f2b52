import {
  budgetBreakerClosedEvent,
  budgetBreakerOpenedEvent,
  type BreakerPolicy,
} from '@deliberate/contracts';
import { handle, KafkaLifecycle, provisionTopics } from '@deliberate/kafka';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

export interface BreakerState {
  open: boolean;
  /** What the tenant's policy asks callers to do while it is open. */
  policy: BreakerPolicy | null;
  /** Why it opened: `spend_rate` or `budget_exhausted`. */
  reason: string | null;
  /** When the ledger checks again; it stays open until a closed event says otherwise. */
  retryAt: string | null;
}

const CLOSED: BreakerState = { open: false, policy: null, reason: null, retryAt: null };

// Every instance's own view of the tenants' cost breakers, so a caller can skip paid work without asking the
// ledger. Each instance reads with its own group from the beginning, so a restart rebuilds the whole state.
@Injectable()
export class BreakerStateCache implements OnApplicationBootstrap {
  private readonly states = new Map<string, { state: BreakerState; changedAtMs: number }>();

  constructor(private readonly kafka: KafkaLifecycle) {}

  async onApplicationBootstrap(): Promise<void> {
    await provisionTopics(this.kafka.client, [budgetBreakerOpenedEvent, budgetBreakerClosedEvent]);
    await this.kafka.startConsumer({
      group: `${this.kafka.client.options.serviceName}.breakers.${randomBytes(4).toString('hex')}`,
      ephemeralGroup: true,
      handlers: [
        handle(budgetBreakerOpenedEvent, (e) => {
          this.apply(e.tenantId, Date.parse(e.data.openedAt), {
            open: true,
            policy: e.data.policy,
            reason: e.data.reason,
            retryAt: e.data.retryAt,
          });
          return Promise.resolve();
        }),
        handle(budgetBreakerClosedEvent, (e) => {
          this.apply(e.tenantId, Date.parse(e.data.closedAt), CLOSED);
          return Promise.resolve();
        }),
      ],
    });
  }

  state(tenantId: string): BreakerState {
    return this.states.get(tenantId)?.state ?? CLOSED;
  }

  // A republished event may arrive after a later transition: the latest transition wins.
  private apply(tenantId: string, changedAtMs: number, state: BreakerState): void {
    const current = this.states.get(tenantId);
    if (current && current.changedAtMs > changedAtMs) return;
    this.states.set(tenantId, { state, changedAtMs });
  }
}

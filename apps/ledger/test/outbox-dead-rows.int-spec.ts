jest.setTimeout(120_000);

import { budgetBreakerClosedEvent } from '@deliberate/contracts';
import { describeOutboxDeadRows } from '@deliberate/testing';
import { startLedger } from './ledger-harness';

describeOutboxDeadRows({
  name: 'ledger outbox',
  start: () => startLedger('outbox_dead'),
  event: budgetBreakerClosedEvent,
  valid: { closedAt: new Date().toISOString(), message: 'behind the bad rows' },
  invalid: { closedAt: 'yesterday' },
  invalidReason: /^refusing to publish an invalid budget\.breaker\.closed\.v1: closedAt: /,
});

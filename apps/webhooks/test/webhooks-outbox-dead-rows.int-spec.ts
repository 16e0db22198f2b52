jest.setTimeout(120_000);

import { webhookEndpointDisabledEvent } from '@deliberate/contracts';
import { describeOutboxDeadRows } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import { startWebhooks } from './webhooks-harness';

const disabled = {
  endpointId: randomUUID(),
  url: 'https://example.com/hook',
  reason: 'manual',
  message: 'behind the bad rows',
  disabledAt: new Date().toISOString(),
};

describeOutboxDeadRows({
  name: 'webhooks outbox',
  start: () => startWebhooks('outbox_dead'),
  event: webhookEndpointDisabledEvent,
  valid: disabled,
  invalid: { ...disabled, reason: 'bored' },
  invalidReason: /^refusing to publish an invalid webhooks\.endpoint\.disabled\.v1: reason: /,
});

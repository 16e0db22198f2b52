jest.setTimeout(120_000);

import { taskAcceptedEvent } from '@deliberate/contracts';
import { describeOutboxDeadRows, testTaskSpec } from '@deliberate/testing';
import { startGateway } from './gateway-harness';

const accepted = {
  spec: testTaskSpec('behind the bad rows'),
  submittedVia: 'http',
  acceptedAt: new Date().toISOString(),
};

describeOutboxDeadRows({
  name: 'gateway outbox',
  start: () => startGateway('outbox_dead', { adminKey: 'outbox-dead-admin-key-0123456789' }),
  event: taskAcceptedEvent,
  valid: accepted,
  invalid: { ...accepted, submittedVia: 'fax' },
  invalidReason: /^refusing to publish an invalid tasks\.task\.accepted\.v1: submittedVia: /,
});

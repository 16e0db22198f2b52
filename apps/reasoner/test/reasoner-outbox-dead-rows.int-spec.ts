jest.setTimeout(120_000);

import { taskCancelledEvent } from '@deliberate/contracts';
import { describeOutboxDeadRows, listenOnFreePort } from '@deliberate/testing';
import { startHarness } from './reasoner-harness';

const cancelled = {
  reason: 'behind the bad rows',
  usage: null,
  cancelledAt: new Date().toISOString(),
};

describeOutboxDeadRows({
  name: 'reasoner outbox',
  start: async () => {
    const h = await startHarness('reasoner-outbox-dead');
    try {
      const url = await listenOnFreePort(await h.startReasoner());
      return { db: h.db, url, topic: (name) => `${h.prefix}${name}`, close: () => h.close() };
    } catch (e) {
      await h.close();
      throw e;
    }
  },
  event: taskCancelledEvent,
  valid: cancelled,
  invalid: { ...cancelled, cancelledAt: 'yesterday' },
  invalidReason: /^refusing to publish an invalid tasks\.task\.cancelled\.v1: cancelledAt: /,
  otherHealth: {
    instanceId: expect.any(String),
    concurrency: expect.any(Number),
    inFlight: 0,
    queued: 0,
    capacity: expect.any(Number),
    intakePaused: false,
    groupJoins: { intake: expect.any(Number), cancels: expect.any(Number) },
  },
});

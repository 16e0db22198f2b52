jest.setTimeout(120_000);

import { taskFailedEvent } from '@deliberate/contracts';
import { describeOutboxDeadRows, listenOnFreePort } from '@deliberate/testing';
import { startTriageHarness } from './triage-harness';

const failed = {
  error: { code: 'deadline_exceeded', message: 'behind the bad rows' },
  failedAt: new Date().toISOString(),
};

describeOutboxDeadRows({
  name: 'triage outbox',
  start: async () => {
    const h = await startTriageHarness('triage-outbox-dead');
    try {
      const url = await listenOnFreePort(await h.startTriage());
      return { db: h.db, url, topic: (name) => `${h.prefix}${name}`, close: () => h.close() };
    } catch (e) {
      await h.close();
      throw e;
    }
  },
  event: taskFailedEvent,
  valid: failed,
  invalid: { ...failed, failedAt: 'yesterday' },
  invalidReason: /^refusing to publish an invalid tasks\.task\.failed\.v1: failedAt: /,
});

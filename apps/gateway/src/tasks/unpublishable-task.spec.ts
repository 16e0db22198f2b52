import { taskAcceptedEvent } from '@deliberate/contracts';
import type { OutboxMessage } from '@deliberate/outbox';
import { unpublishableTask } from './unpublishable-task';

const accepted = (payload: unknown, topic: string = taskAcceptedEvent.topic): OutboxMessage => ({
  id: 'e-1',
  topic,
  tenantId: 'acme',
  taskId: 't-1',
  payload,
});

describe('unpublishableTask', () => {
  it('fails a task whose accepted event is over the Kafka limit with task_too_large', () => {
    const payload = {
      spec: {
        input: 'summarise',
        context: [{ content: 'x'.repeat(10_000) }],
        mode: 'auto',
        latencyBudgetMs: null,
        maxCostMicroUsd: null,
        maxThinkingTokens: null,
        reasoningEffort: null,
        webhookUrl: null,
        metadata: {},
      },
      submittedVia: 'http',
      acceptedAt: new Date(0).toISOString(),
    };
    expect(unpublishableTask({ message: accepted(payload), reason: 'too big' }, 5_000)).toEqual({
      tenantId: 'acme',
      taskId: 't-1',
      error: {
        code: 'task_too_large',
        message: expect.stringMatching(
          /^the task's event would take \d+ bytes, above the Kafka message limit of 5000 bytes$/,
        ),
      },
    });
  });

  it('fails a task whose accepted event is refused for another reason with that reason', () => {
    expect(unpublishableTask({ message: accepted({ spec: 7 }), reason: 'invalid spec' }, 5_000)).toEqual({
      tenantId: 'acme',
      taskId: 't-1',
      error: { code: 'task_not_publishable', message: 'invalid spec' },
    });
  });

  it('leaves rows of other topics alone', () => {
    expect(unpublishableTask({ message: accepted({}, 'old.topic.v1'), reason: 'unknown' }, 5_000)).toBeNull();
  });
});

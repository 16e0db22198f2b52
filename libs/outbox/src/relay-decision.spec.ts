import { PermanentError } from '@deliberate/kafka';
import { decide, planRelay, UnknownOutboxTopicError } from './relay-decision';

const rejected = (reason: unknown): PromiseRejectedResult => ({ status: 'rejected', reason });
const fulfilled: PromiseFulfilledResult<void> = { status: 'fulfilled', value: undefined };

describe('decide', () => {
  it('marks a sent row published', () => {
    expect(decide(fulfilled)).toEqual({ kind: 'published' });
  });

  it('sets aside a row the publisher refuses for good, with its reason', () => {
    expect(decide(rejected(new PermanentError('refusing to publish an invalid x: a: Required')))).toEqual({
      kind: 'dead',
      reason: 'refusing to publish an invalid x: a: Required',
    });
  });

  it('sets aside a row whose topic the service does not publish', () => {
    expect(decide(rejected(new UnknownOutboxTopicError('old.topic.v1')))).toEqual({
      kind: 'dead',
      reason: 'no event of this service is published on old.topic.v1',
    });
  });

  it('keeps a row pending after an error that may pass (a broker outage)', () => {
    expect(decide(rejected(new Error('Connection timeout')))).toEqual({
      kind: 'retry',
      error: 'Connection timeout',
    });
  });

  it('bounds the stored reason', () => {
    const decision = decide(rejected(new PermanentError('x'.repeat(10_000))));
    expect(decision.kind === 'dead' && decision.reason.length).toBe(2_000);
  });
});

describe('planRelay', () => {
  it('sorts each row by its own outcome, so a dead row never holds up the rows behind it', () => {
    const plan = planRelay(
      ['a', 'b', 'c', 'd'],
      [fulfilled, rejected(new PermanentError('too big')), fulfilled, rejected(new Error('broker down'))],
    );
    expect(plan).toEqual({
      published: ['a', 'c'],
      dead: [{ id: 'b', reason: 'too big' }],
      retry: [{ id: 'd', error: 'broker down' }],
    });
  });
});

import { EVENT_CATALOGUE, taskAcceptedEvent, taskSubmittedEvent } from '@deliberate/contracts';
import { AUDITED_EVENTS } from './audited-events';

describe('AUDITED_EVENTS', () => {
  it('leaves out the intake topic, whose tenant is only a claim until the gateway verified its signature', () => {
    expect(AUDITED_EVENTS).not.toContain(taskSubmittedEvent);
    expect(AUDITED_EVENTS).toContain(taskAcceptedEvent);
    expect(AUDITED_EVENTS).toHaveLength(EVENT_CATALOGUE.length - 1);
  });
});

import { EVENT_CATALOGUE, taskSubmittedEvent, type EventDefinition } from '@deliberate/contracts';
import { type KafkaAcl, type KafkaAclOperation, kafkaAclPlan, kafkaAclPrincipals } from './kafka-acl-plan';

function allowed(
  plan: readonly KafkaAcl[],
  principal: string,
  operation: KafkaAclOperation,
  resource: { topic: string } | { group: string },
): boolean {
  return plan.some((acl) => {
    if (acl.principal !== principal || !acl.operations.includes(operation)) return false;
    if ('topic' in resource)
      return (
        acl.resourceType === 'topic' && acl.patternType === 'literal' && acl.names.includes(resource.topic)
      );
    return acl.resourceType === 'group' && acl.names.some((prefix) => resource.group.startsWith(prefix));
  });
}

describe('kafkaAclPlan', () => {
  const plan = kafkaAclPlan(EVENT_CATALOGUE);

  it('grants a principal to every service and to the outside producers and consumers', () => {
    expect(kafkaAclPrincipals(plan)).toEqual([
      'audit',
      'downstream-consumer',
      'gateway',
      'ledger',
      'reasoner',
      'triage',
      'upstream-producer',
      'webhooks',
    ]);
  });

  it('lets upstream producers write tasks.task.submitted.v1 and nothing else', () => {
    const upstream = plan.filter((acl) => acl.principal === 'upstream-producer');
    expect(upstream).toEqual([
      {
        principal: 'upstream-producer',
        resourceType: 'topic',
        patternType: 'literal',
        operations: ['Write', 'Describe'],
        names: ['tasks.task.submitted.v1'],
      },
    ]);
  });

  it('follows the catalogue: producers write, consumers read and dead-letter, others get nothing', () => {
    for (const event of EVENT_CATALOGUE)
      for (const service of ['gateway', 'triage', 'reasoner', 'ledger', 'webhooks']) {
        expect(allowed(plan, service, 'Write', { topic: event.topic })).toBe(
          event.producers.includes(service),
        );
        expect(allowed(plan, service, 'Read', { topic: event.topic })).toBe(
          event.consumers.includes(service),
        );
        expect(allowed(plan, service, 'Write', { topic: `${event.topic}.dlq` })).toBe(
          event.consumers.includes(service),
        );
      }
    expect(allowed(plan, 'triage', 'Write', { topic: 'tasks.task.submitted.v1' })).toBe(false);
    expect(allowed(plan, 'webhooks', 'Write', { topic: 'tasks.task.completed.v1' })).toBe(false);
  });

  it('lets the audit service read every topic but the intake topic, and write none', () => {
    for (const event of EVENT_CATALOGUE) {
      const audited = event !== taskSubmittedEvent;
      expect(allowed(plan, 'audit', 'Read', { topic: event.topic })).toBe(audited);
      expect(allowed(plan, 'audit', 'Write', { topic: event.topic })).toBe(false);
    }
  });

  it('gives each service the consumer groups named after it, and only those', () => {
    expect(allowed(plan, 'triage', 'Read', { group: 'deliberate.triage' })).toBe(true);
    expect(allowed(plan, 'triage', 'Read', { group: 'deliberate.triage.breakers.0a1b2c3d' })).toBe(true);
    expect(allowed(plan, 'reasoner', 'Read', { group: 'deliberate.reasoner.ledger-replies.r-1' })).toBe(true);
    expect(allowed(plan, 'ledger', 'Read', { group: 'deliberate.ledger.commands' })).toBe(true);
    expect(allowed(plan, 'triage', 'Read', { group: 'deliberate.gateway.intake' })).toBe(false);
    expect(allowed(plan, 'upstream-producer', 'Read', { group: 'upstream-producer' })).toBe(false);
  });

  it('lets a service delete the groups of its own processes, and no one else', () => {
    const replies = { group: 'deliberate.reasoner.ledger-replies.r-1' };
    expect(allowed(plan, 'reasoner', 'Delete', replies)).toBe(true);
    expect(allowed(plan, 'triage', 'Delete', { group: 'deliberate.triage.breakers.0a1b2c3d' })).toBe(true);
    expect(allowed(plan, 'triage', 'Delete', replies)).toBe(false);
    expect(allowed(plan, 'downstream-consumer', 'Delete', { group: 'downstream-consumer' })).toBe(false);
  });

  it('lets the triage and the reasoner call the ledger and the ledger answer', () => {
    const reserve = 'ledger.reservation.reserve.v1';
    for (const caller of ['triage', 'reasoner']) {
      expect(allowed(plan, caller, 'Write', { topic: reserve })).toBe(true);
      expect(allowed(plan, caller, 'Read', { topic: `${reserve}.reply` })).toBe(true);
      expect(allowed(plan, caller, 'Read', { group: `deliberate.${caller}.ledger-replies.p-1` })).toBe(true);
    }
    expect(allowed(plan, 'ledger', 'Read', { topic: reserve })).toBe(true);
    expect(allowed(plan, 'ledger', 'Write', { topic: `${reserve}.reply` })).toBe(true);
    expect(allowed(plan, 'gateway', 'Write', { topic: reserve })).toBe(false);
  });

  it('puts every topic and group under the stack prefix', () => {
    const prefixed = kafkaAclPlan(EVENT_CATALOGUE, 'staging.');
    expect(prefixed.flatMap((acl) => acl.names).every((name) => name.startsWith('staging.'))).toBe(true);
    expect(
      allowed(prefixed, 'upstream-producer', 'Write', { topic: 'staging.tasks.task.submitted.v1' }),
    ).toBe(true);
    expect(allowed(prefixed, 'gateway', 'Read', { group: 'staging.deliberate.gateway.intake' })).toBe(true);
  });

  it('refuses a catalogue participant that has no principal', () => {
    const stray: EventDefinition = { ...taskSubmittedEvent, producers: ['billing'] };
    expect(() => kafkaAclPlan([stray])).toThrow(/"billing", which has no Kafka principal/);
  });
});

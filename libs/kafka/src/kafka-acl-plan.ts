import {
  deadLetterTopic,
  type EventDefinition,
  LEDGER_PATTERNS,
  ledgerReplyTopic,
} from '@deliberate/contracts';

// Who may do what on the brokers, derived from the topic catalogue's producers and consumers, so the ACLs and the
// catalogue cannot disagree. deploy/kafka/acls.sh applies this plan with the broker's own AclCommand.

export type KafkaAclOperation = 'Read' | 'Write' | 'Describe' | 'Create' | 'Delete';

export interface KafkaAcl {
  /** The SCRAM user name (principal `User:<name>`). */
  principal: string;
  resourceType: 'topic' | 'group';
  patternType: 'literal' | 'prefixed';
  /** Sorted, so equal grants merge into one AclCommand call. */
  operations: readonly KafkaAclOperation[];
  names: readonly string[];
}

/** The services, each its own principal; their consumer groups all start with `deliberate.<service>`. */
export const KAFKA_SERVICE_PRINCIPALS = [
  'gateway',
  'triage',
  'reasoner',
  'ledger',
  'webhooks',
  'audit',
] as const;

/** Principals for the systems outside Deliberate that the catalogue names as producers or consumers. */
export const KAFKA_EXTERNAL_PRINCIPALS: Readonly<Record<string, string>> = {
  'upstream systems': 'upstream-producer',
  'downstream systems': 'downstream-consumer',
};

/** Who calls the ledger's request-reply commands (libs/ledger-client with rpcClient); the ledger serves them. */
export const LEDGER_COMMAND_CLIENTS = ['triage', 'reasoner'] as const;

const ORDER: readonly KafkaAclOperation[] = ['Read', 'Write', 'Describe', 'Create'];

/**
 * The ACLs of every principal under a topic prefix (KAFKA_TOPIC_PREFIX of the stack):
 * - a service may Describe and Create each topic it reads or writes and its dead-letter topic (it provisions them
 *   at start), Write the topics it produces, Read the topics it consumes and Write their dead-letter topics
 *   (a message its handler cannot take goes there), and use the consumer groups `<prefix>deliberate.<service>*`;
 * - an external producer may only Write (and Describe) the topics the catalogue names it for: upstream systems
 *   write `tasks.task.submitted.v1`, nothing else; an external consumer may Read its topics with groups named
 *   `<prefix><principal>*`.
 */
export function kafkaAclPlan(catalogue: readonly EventDefinition[], topicPrefix = ''): KafkaAcl[] {
  const grants = new Map<string, Map<string, Set<KafkaAclOperation>>>();
  const grant = (principal: string, topic: string, ...operations: KafkaAclOperation[]) => {
    const topics = grants.get(principal) ?? new Map<string, Set<KafkaAclOperation>>();
    grants.set(principal, topics);
    const granted = topics.get(topic) ?? new Set<KafkaAclOperation>();
    topics.set(topic, granted);
    for (const operation of operations) granted.add(operation);
  };
  const principalOf = (participant: string): { name: string; service: boolean } => {
    if ((KAFKA_SERVICE_PRINCIPALS as readonly string[]).includes(participant))
      return { name: participant, service: true };
    const external = KAFKA_EXTERNAL_PRINCIPALS[participant];
    if (!external) throw new Error(`the catalogue names "${participant}", which has no Kafka principal`);
    return { name: external, service: false };
  };

  for (const event of catalogue) {
    const topic = `${topicPrefix}${event.topic}`;
    const deadLetters = `${topicPrefix}${deadLetterTopic(event.topic)}`;
    for (const producer of event.producers) {
      const p = principalOf(producer);
      grant(p.name, topic, 'Write', 'Describe');
      if (p.service) {
        grant(p.name, topic, 'Create');
        grant(p.name, deadLetters, 'Describe', 'Create');
      }
    }
    for (const consumer of event.consumers) {
      const c = principalOf(consumer);
      grant(c.name, topic, 'Read', 'Describe');
      if (c.service) {
        grant(c.name, topic, 'Create');
        grant(c.name, deadLetters, 'Write', 'Describe', 'Create');
      }
    }
  }
  for (const pattern of Object.values(LEDGER_PATTERNS)) {
    const request = `${topicPrefix}${pattern}`;
    const reply = ledgerReplyTopic(request);
    grant('ledger', request, 'Read', 'Describe', 'Create');
    grant('ledger', reply, 'Write', 'Describe', 'Create');
    for (const client of LEDGER_COMMAND_CLIENTS) {
      grant(client, request, 'Write', 'Describe', 'Create');
      grant(client, reply, 'Read', 'Describe', 'Create');
    }
  }

  const acls: KafkaAcl[] = [];
  for (const [principal, topics] of [...grants].sort(([a], [b]) => a.localeCompare(b))) {
    const byOperations = new Map<string, string[]>();
    for (const [topic, operations] of topics) {
      const key = ORDER.filter((o) => operations.has(o)).join(',');
      byOperations.set(key, [...(byOperations.get(key) ?? []), topic]);
    }
    for (const [key, names] of [...byOperations].sort(([a], [b]) => a.localeCompare(b)))
      acls.push({
        principal,
        resourceType: 'topic',
        patternType: 'literal',
        operations: key.split(',') as KafkaAclOperation[],
        names: names.sort(),
      });
    const reads = [...topics.values()].some((operations) => operations.has('Read'));
    if (reads) {
      const service = (KAFKA_SERVICE_PRINCIPALS as readonly string[]).includes(principal);
      acls.push({
        principal,
        resourceType: 'group',
        patternType: 'prefixed',
        // A service deletes the groups made for one of its processes (one per start) when that process stops.
        operations: service ? ['Read', 'Describe', 'Delete'] : ['Read', 'Describe'],
        names: [service ? `${topicPrefix}deliberate.${principal}` : `${topicPrefix}${principal}`],
      });
    }
  }
  return acls;
}

/** Every principal the plan grants something to. */
export function kafkaAclPrincipals(plan: readonly KafkaAcl[]): string[] {
  return [...new Set(plan.map((acl) => acl.principal))].sort();
}

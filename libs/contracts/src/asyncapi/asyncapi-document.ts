import { z } from 'zod';
import { EVENT_CATALOGUE } from '../events/catalogue';
import { deadLetterTopic } from '../events/event-definition';
import {
  LEDGER_PATTERNS,
  ledgerReplyTopic,
  releaseReplySchema,
  releaseRequestSchema,
  reserveReplySchema,
  reserveRequestSchema,
  settleReplySchema,
  settleRequestSchema,
} from '../ledger/ledger-commands';

// AsyncAPI 3.0 for every topic in the catalogue, built from the same zod schemas the consumers validate with.
// `npm run docs:generate` writes it to docs/asyncapi.json; a unit test fails when that copy is stale.

const camel = (topic: string) =>
  topic.replace(/[.-](\w)/g, (_, c: string) => c.toUpperCase()).replace(/V(\d+)$/, 'V$1');

const ceHeaders = {
  type: 'object',
  description:
    'CloudEvents 1.0 Kafka binding, binary content mode. Structured mode (the whole CloudEvent as the value, content-type application/cloudevents+json, attributes tenantid and taskid) is accepted on every topic too.',
  required: ['ce_specversion', 'ce_id', 'ce_type', 'ce_source', 'ce_tenantid'],
  properties: {
    ce_specversion: { type: 'string', const: '1.0' },
    ce_id: {
      type: 'string',
      description: 'Unique event id (UUIDv7 for events the system publishes); consumers deduplicate on it',
    },
    ce_type: { type: 'string', description: 'Equals the topic name without prefix' },
    ce_source: { type: 'string', description: 'deliberate/<service>, or the upstream system' },
    ce_time: { type: 'string', format: 'date-time' },
    ce_tenantid: { type: 'string', description: 'Tenant slug' },
    ce_taskid: { type: 'string', format: 'uuid', description: 'Required on task-keyed topics' },
    'content-type': { type: 'string', const: 'application/json' },
    traceparent: { type: 'string', description: 'W3C trace context; the trace continues across services' },
  },
};

export function buildAsyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const event of EVENT_CATALOGUE) {
    const id = camel(event.topic);
    messages[id] = {
      name: event.topic,
      title: event.topic,
      summary: event.summary,
      contentType: 'application/json',
      headers: event.headers
        ? {
            allOf: [
              { $ref: '#/components/schemas/CloudEventHeaders' },
              { type: 'object', required: [...event.headers.required], properties: event.headers.properties },
            ],
          }
        : { $ref: '#/components/schemas/CloudEventHeaders' },
      payload: z.toJSONSchema(event.schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
      bindings: { kafka: { key: { type: 'string', description: `the ${event.key}; decides ordering` } } },
    };
    channels[id] = {
      address: event.topic,
      description: `${event.summary}\n\nPartitions: ${event.partitions}. Key: ${event.key}.${event.compacted ? ' Compacted: the latest event per key is kept for ever.' : ''} Producers: ${event.producers.join(', ')}. Consumers: ${event.consumers.join(', ')}.`,
      messages: { [id]: { $ref: `#/components/messages/${id}` } },
      bindings: {
        kafka: {
          topic: event.topic,
          partitions: event.partitions,
          ...(event.compacted ? { topicConfiguration: { 'cleanup.policy': ['compact'] } } : {}),
        },
      },
    };
    channels[`${id}Dlq`] = {
      address: deadLetterTopic(event.topic),
      description:
        'Messages of the topic above that a consumer could not take: the original key, value and headers, plus dlq_reason, dlq_stage (decode | envelope | schema | handler), dlq_source_topic, dlq_source_partition, dlq_source_offset, dlq_consumer_group, dlq_attempts and dlq_failed_at headers.',
    };
    const internalProducer = event.producers.some((p) => !p.includes('upstream'));
    operations[`${internalProducer ? 'publish' : 'accept'}${id.charAt(0).toUpperCase()}${id.slice(1)}`] = {
      action: internalProducer ? 'send' : 'receive',
      channel: { $ref: `#/channels/${id}` },
      summary: internalProducer
        ? `Published by ${event.producers.join(', ')}`
        : `Received from ${event.producers.join(', ')}; consumed by ${event.consumers.join(', ')}`,
      messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
    };
  }
  // The ledger's request-reply commands (NestJS message patterns over Kafka): a request topic and its reply topic.
  const commands = [
    { pattern: LEDGER_PATTERNS.reserve, request: reserveRequestSchema, reply: reserveReplySchema },
    { pattern: LEDGER_PATTERNS.settle, request: settleRequestSchema, reply: settleReplySchema },
    { pattern: LEDGER_PATTERNS.release, request: releaseRequestSchema, reply: releaseReplySchema },
  ];
  for (const command of commands) {
    const id = camel(command.pattern);
    const payload = (s: z.ZodType) =>
      z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
    messages[`${id}Request`] = {
      name: command.pattern,
      contentType: 'application/json',
      summary:
        'NestJS Kafka transport: headers kafka_correlationId, kafka_replyTopic and kafka_replyPartition',
      payload: payload(command.request),
    };
    messages[`${id}Reply`] = {
      name: ledgerReplyTopic(command.pattern),
      contentType: 'application/json',
      payload: payload(command.reply),
    };
    channels[id] = {
      address: command.pattern,
      description: 'Ledger command; callers that get no reply in time treat a reserve as denied.',
      messages: { request: { $ref: `#/components/messages/${id}Request` } },
    };
    channels[`${id}Reply`] = {
      address: ledgerReplyTopic(command.pattern),
      messages: { reply: { $ref: `#/components/messages/${id}Reply` } },
    };
    operations[`call${id.charAt(0).toUpperCase()}${id.slice(1)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      summary: 'Sent by triage and the reasoning executor through libs/ledger-client; answered by the ledger',
      reply: { channel: { $ref: `#/channels/${id}Reply` } },
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Deliberate events',
      version: '1.0.0',
      description:
        'Every Kafka topic of Deliberate. Topics are named <domain>.<entity>.<event>.v<N>; a deployment may prefix them all (KAFKA_TOPIC_PREFIX). Every consumer validates what it reads and dead-letters what it cannot take to <topic>.dlq.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'The local single-node KRaft broker' },
    },
    channels,
    operations,
    components: { messages, schemas: { CloudEventHeaders: ceHeaders } },
  };
}

// The audit service's API, proxied by the gateway under /v1/audit (roles auditor and platform-auditor).
// Tenant auditors see their own tenant; the platform auditor sees every tenant, or one with ?tenantId=.

const problem = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const bearer = [{ apiKey: [] }];
const object = (description: string, properties: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema: { type: 'object', properties } } },
});

const tenantId = {
  name: 'tenantId',
  in: 'query',
  schema: { type: 'string' },
  description: "platform auditor: the tenant to read (a tenant's auditor may only name its own)",
};

const auditRecord = {
  type: 'object',
  properties: {
    tenantId: { type: 'string' },
    seq: { type: 'integer', description: "position in the tenant's hash chain" },
    eventId: { type: 'string', description: 'CloudEvents id of the recorded event' },
    type: {
      type: 'string',
      description: 'event type (the topic), or audit.query.v1 / audit.retention.purged.v1',
    },
    source: { type: 'string' },
    taskId: { type: ['string', 'null'], format: 'uuid' },
    occurredAt: { type: 'string', format: 'date-time' },
    recordedAt: { type: 'string', format: 'date-time' },
    route: { type: ['string', 'null'], description: 'fast | reasoning | standard' },
    model: { type: ['string', 'null'] },
    status: { type: ['string', 'null'] },
    decision: {
      type: ['string', 'null'],
      description: 'who decided or answered: rule, model, fallback, reasoning_model, human, ...',
    },
    data: { description: 'the event data as stored (PII redacted), decrypted for encrypted tenants' },
    prevHash: { type: 'string', description: 'hex SHA-256' },
    contentHash: { type: 'string', description: 'hex SHA-256' },
    recordHash: { type: 'string', description: 'hex SHA-256 of prevHash and contentHash' },
  },
};

const filters = [
  { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' } },
  { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'exclusive' },
  {
    name: 'type',
    in: 'query',
    schema: { type: 'string' },
    description: 'event type, e.g. tasks.task.triaged.v1',
  },
  { name: 'taskId', in: 'query', schema: { type: 'string', format: 'uuid' } },
  { name: 'route', in: 'query', schema: { type: 'string' } },
  { name: 'model', in: 'query', schema: { type: 'string' } },
  { name: 'status', in: 'query', schema: { type: 'string' } },
  { name: 'decision', in: 'query', schema: { type: 'string' } },
  {
    name: 'meta.{key}',
    in: 'query',
    schema: { type: 'string' },
    description:
      'task metadata equal to the value (matches the records that carry the metadata: submitted, accepted, requested)',
  },
  {
    name: 'q',
    in: 'query',
    schema: { type: 'string' },
    description:
      'full-text search (web search syntax) over the redacted free text; encrypted tenants are not indexed',
  },
  tenantId,
];

export const AUDIT_PATHS = {
  '/v1/audit/tasks/{taskId}': {
    get: {
      summary:
        "A task's full audit timeline, oldest first: input, routing decisions, prompts and context each model saw, traces, answers, costs, reviews, webhook attempts",
      security: bearer,
      parameters: [
        { name: 'taskId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        tenantId,
      ],
      responses: {
        '200': object('The timeline', {
          taskId: { type: 'string' },
          tenantId: { type: 'string' },
          entries: { type: 'array', items: auditRecord },
        }),
        '403': problem('Not an auditor, or another tenant named'),
        '404': problem("No records for the task in the caller's tenant"),
      },
    },
  },
  '/v1/audit/events': {
    get: {
      summary: 'Search audit records, oldest first, a page at a time',
      security: bearer,
      parameters: [
        ...filters,
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, default: 100 } },
        {
          name: 'cursor',
          in: 'query',
          schema: { type: 'string' },
          description: 'nextCursor of the previous page',
        },
      ],
      responses: {
        '200': object('A page', {
          items: { type: 'array', items: auditRecord },
          nextCursor: { type: ['string', 'null'] },
        }),
        '400': problem('A bad filter or cursor'),
      },
    },
  },
  '/v1/audit/export': {
    get: {
      summary: 'Every record of a period (same filters), streamed as JSON Lines or CSV',
      security: bearer,
      parameters: [
        ...filters.map((f) => (f.name === 'from' || f.name === 'to' ? { ...f, required: true } : f)),
        { name: 'format', in: 'query', schema: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' } },
      ],
      responses: {
        '200': {
          description: 'One record per line',
          content: {
            'application/x-ndjson': { schema: { type: 'string' } },
            'text/csv': { schema: { type: 'string' } },
          },
        },
      },
    },
  },
  '/v1/audit/verify': {
    get: {
      summary: "Recompute a tenant's hash chain over a seq range and report the first broken link",
      security: bearer,
      parameters: [
        { ...tenantId, description: 'required for the platform auditor' },
        { name: 'fromSeq', in: 'query', schema: { type: 'integer', minimum: 1 } },
        { name: 'toSeq', in: 'query', schema: { type: 'integer', minimum: 1 } },
      ],
      responses: {
        '200': object('The verification report', {
          ok: { type: 'boolean' },
          checked: { type: 'integer' },
          checkpointsChecked: { type: 'integer' },
          fromSeq: { type: 'integer' },
          toSeq: { type: 'integer' },
          headSeq: { type: 'integer' },
          purgedThroughSeq: { type: 'integer' },
          firstBrokenLink: {
            type: ['object', 'null'],
            properties: {
              seq: { type: 'integer' },
              eventId: { type: ['string', 'null'] },
              reason: {
                type: 'string',
                enum: ['content_mismatch', 'link_mismatch', 'gap', 'checkpoint_mismatch'],
              },
              expected: { type: 'string' },
              found: { type: 'string' },
              detail: { type: 'string' },
            },
          },
        }),
      },
    },
  },
  '/v1/audit/checkpoints': {
    get: {
      summary: 'Signed checkpoints (Ed25519) with the public key, to keep and verify outside the system',
      security: bearer,
      parameters: [
        tenantId,
        { name: 'fromSeq', in: 'query', schema: { type: 'integer', minimum: 0 } },
        {
          name: 'limit',
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
        },
      ],
      responses: {
        '200': object('Checkpoints', {
          algorithm: { type: 'string', const: 'Ed25519' },
          keyId: { type: 'string' },
          publicKeyPem: { type: 'string' },
          signedPayload: { type: 'string' },
          checkpoints: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                tenantId: { type: 'string' },
                seq: { type: 'integer' },
                recordHash: { type: 'string' },
                at: { type: 'string', format: 'date-time' },
                keyId: { type: 'string' },
                signature: { type: 'string', description: 'base64' },
              },
            },
          },
        }),
      },
    },
  },
};

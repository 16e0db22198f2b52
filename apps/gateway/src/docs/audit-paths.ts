import {
  auditTenantQuerySchema,
  checkpointsQuerySchema,
  DEFAULT_AUDIT_PAGE_SIZE_MAX,
  exportQuerySchema,
  searchQuerySchema,
  verifyQuerySchema,
} from '@deliberate/contracts';
import { bearer, objectResponse, pathParameter, problem, queryParameters } from './openapi-parts';

// The audit service's API, proxied by the gateway under /v1/audit (roles auditor and platform-auditor).
// Tenant auditors see their own tenant; the platform auditor sees every tenant, or one with ?tenantId=.

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

// Metadata filters are read from the raw query, outside the schema.
const metadataFilter = {
  name: 'meta.{key}',
  in: 'query',
  schema: { type: 'string' },
  description:
    'task metadata equal to the value (matches the records that carry the metadata: submitted, accepted, requested)',
};

export const AUDIT_PATHS = {
  '/v1/audit/tasks/{taskId}': {
    get: {
      summary:
        "A task's full audit timeline, oldest first: input, routing decisions, prompts and context each model saw, traces, answers, costs, reviews, webhook attempts",
      security: bearer,
      parameters: [pathParameter('taskId', 'uuid'), ...queryParameters(auditTenantQuerySchema)],
      responses: {
        '200': objectResponse('The timeline', {
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
      // The page size limit is AUDIT_PAGE_SIZE_MAX, documented at its default.
      parameters: [...queryParameters(searchQuerySchema(DEFAULT_AUDIT_PAGE_SIZE_MAX)), metadataFilter],
      responses: {
        '200': objectResponse('A page', {
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
      parameters: [...queryParameters(exportQuerySchema), metadataFilter],
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
      parameters: queryParameters(verifyQuerySchema),
      responses: {
        '200': objectResponse('The verification report', {
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
      parameters: queryParameters(checkpointsQuerySchema),
      responses: {
        '200': objectResponse('Checkpoints', {
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

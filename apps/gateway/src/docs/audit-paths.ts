import {
  auditTenantQuerySchema,
  BROKEN_LINK_REASONS,
  checkpointsQuerySchema,
  DEFAULT_AUDIT_PAGE_SIZE_MAX,
  exportQuerySchema,
  HEAD_MISMATCH_REASONS,
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
        "A task's full audit timeline, oldest first: input, routing decisions, prompts and context each model saw, traces, answers, costs, reviews, webhook attempts. Auditors; and a reviewer, for a task of its tenant waiting for a person",
      security: bearer,
      parameters: [pathParameter('taskId', 'uuid'), ...queryParameters(auditTenantQuerySchema)],
      responses: {
        '200': objectResponse('The timeline', {
          taskId: { type: 'string' },
          tenantId: { type: 'string' },
          entries: { type: 'array', items: auditRecord },
        }),
        '403': problem(
          'Not an auditor or reviewer, another tenant named, or (a reviewer) the task is answered, cancelled, failed or was never escalated',
        ),
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
          description:
            'One record per line. A JSON line whose data is not the stored content (decrypted for a tenant whose content is encrypted) also carries storedContent: the canonical JSON the content hash covers, so the export verifies offline (deliberate audit verify-export)',
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
      summary:
        "Recompute a tenant's hash chain over a seq range, up to its newest signed checkpoint whatever the head says, and report the first broken link and a head that disagrees",
      security: bearer,
      parameters: queryParameters(verifyQuerySchema),
      responses: {
        '200': objectResponse('The verification report', {
          tenantId: { type: 'string' },
          ok: { type: 'boolean', description: 'no broken link and no head mismatch' },
          checked: { type: 'integer', description: 'records whose hashes were recomputed' },
          checkpointsChecked: { type: 'integer' },
          fromSeq: { type: 'integer' },
          toSeq: {
            type: 'integer',
            description:
              'by default the furthest of the head, the last stored record and the newest checkpoint',
          },
          headSeq: { type: 'integer', description: 'the chain head (0 when the chain has none)' },
          lastStoredSeq: { type: 'integer', description: 'the highest seq stored, whatever the head says' },
          purgedThroughSeq: { type: 'integer', description: 'records up to here were removed by retention' },
          newestCheckpoint: {
            type: ['object', 'null'],
            properties: {
              seq: { type: 'integer' },
              keyId: { type: 'string' },
              at: { type: 'string', format: 'date-time' },
            },
          },
          firstBrokenLink: {
            type: ['object', 'null'],
            properties: {
              seq: { type: 'integer', description: 'for a gap, the first missing seq' },
              eventId: { type: ['string', 'null'] },
              reason: { type: 'string', enum: [...BROKEN_LINK_REASONS] },
              expected: { type: 'string' },
              found: { type: 'string' },
              detail: { type: 'string' },
              keyId: {
                type: ['string', 'null'],
                description:
                  "the checkpoint's key, for a checkpoint's failure (unknown key, outside its validity)",
              },
            },
          },
          headMismatch: {
            type: ['object', 'null'],
            properties: {
              reason: { type: 'string', enum: [...HEAD_MISMATCH_REASONS] },
              headSeq: { type: 'integer' },
              lastStoredSeq: { type: 'integer' },
              checkpointSeq: { type: ['integer', 'null'], description: 'the newest signed checkpoint' },
              expected: { type: 'string' },
              found: { type: 'string' },
              detail: { type: 'string' },
            },
          },
          elapsedMs: { type: 'integer' },
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
          keyId: { type: 'string', description: 'the key signing new checkpoints' },
          publicKeyPem: { type: 'string', description: 'its public key (SPKI PEM)' },
          signedPayload: { type: 'string' },
          keys: {
            type: 'array',
            description:
              'every key a checkpoint may be signed by: the current one and those it replaced, each valid for the checkpoints signed within its period',
            items: {
              type: 'object',
              properties: {
                keyId: {
                  type: 'string',
                  description: 'first 16 hex digits of the SHA-256 of the public key (SPKI DER)',
                },
                publicKeyPem: { type: 'string' },
                notBefore: { type: ['string', 'null'], format: 'date-time' },
                notAfter: { type: ['string', 'null'], format: 'date-time' },
                current: { type: 'boolean' },
              },
            },
          },
          checkpoints: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                tenantId: { type: 'string' },
                seq: { type: 'integer' },
                recordHash: { type: 'string' },
                at: { type: 'string', format: 'date-time' },
                keyId: { type: 'string', description: 'the key that signed it (one of keys)' },
                signature: { type: 'string', description: 'base64' },
              },
            },
          },
        }),
      },
    },
  },
};

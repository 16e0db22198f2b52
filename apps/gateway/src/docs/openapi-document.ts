import {
  budgetResponseSchema,
  cancelTaskRequestSchema,
  reviewAnswerRequestSchema,
  reviewItemSchema,
  putBudgetRequestSchema,
  shadowReportQuerySchema,
  shadowReportResponseSchema,
  spendResponseSchema,
  apiKeyResponseSchema,
  createApiKeyRequestSchema,
  createdApiKeyResponseSchema,
  issueIntakeSecretRequestSchema,
  intakeSecretResponseSchema,
  intakeSecretWithSecretResponseSchema,
  createTenantRequestSchema,
  patchTenantRequestSchema,
  problemSchema,
  taskAcceptedResponseSchema,
  taskResponseSchema,
  taskSubmissionSchema,
  tenantResponseSchema,
  createWebhookEndpointRequestSchema,
  updateWebhookEndpointRequestSchema,
  rotateWebhookSecretRequestSchema,
  webhookEndpointResponseSchema,
  webhookEndpointWithSecretResponseSchema,
  taskWebhookSecretResponseSchema,
  taskWebhookSecretWithSecretResponseSchema,
  webhookDeliveryListResponseSchema,
  webhookDeliveryDetailResponseSchema,
  webhookDeliveryResponseSchema,
  replayWebhooksRequestSchema,
  webhookPayloadSchema,
  spendQuerySchema,
  denialsQuerySchema,
  denialResponseSchema,
  denialListResponseSchema,
  tenantQuerySchema,
  meResponseSchema,
} from '@deliberate/contracts';
import { AUDIT_PATHS } from './audit-paths';
import { POLICY_PATHS, POLICY_SCHEMAS } from './policy-paths';
import { WEBHOOK_PATHS } from './webhook-paths';
import { bearer, json, listOf, pathParameter, problem, queryParameters, schema } from './openapi-parts';

// An answer that says when to come back.
const retryLater = (description: string) => ({
  ...problem(description),
  headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } },
});
const DEPENDENCY_UNAVAILABLE = retryLater(
  'The database or the message broker is unreachable (`dependency` names it: postgres or kafka); nothing was decided: send the same request again after Retry-After (a submission with its Idempotency-Key makes one task however often it is sent)',
);

// Built from the same zod contracts the gateway validates with, so the document cannot drift from the code.
// `npm run docs:generate` writes it to docs/openapi.json; a unit test fails when the checked-in copy is stale.

export function buildOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Deliberate gateway',
      version: '1.0.0',
      description:
        'Submit tasks for fast or reasoning models and poll them. Submissions answer 202 Accepted at once; the result arrives by polling (honour Retry-After) or webhook.',
    },
    servers: [{ url: 'http://127.0.0.1:3000' }],
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A tenant API key (dlb_...) or the platform admin key',
        },
      },
      schemas: {
        TaskSubmission: schema(taskSubmissionSchema, 'input'),
        TaskAccepted: schema(taskAcceptedResponseSchema),
        Task: schema(taskResponseSchema),
        CreateTenant: schema(createTenantRequestSchema, 'input'),
        Tenant: schema(tenantResponseSchema),
        CreateApiKey: schema(createApiKeyRequestSchema, 'input'),
        PatchTenant: schema(patchTenantRequestSchema, 'input'),
        ApiKey: schema(apiKeyResponseSchema),
        CreatedApiKey: schema(createdApiKeyResponseSchema),
        IssueIntakeSecret: schema(issueIntakeSecretRequestSchema, 'input'),
        IntakeSecret: schema(intakeSecretResponseSchema),
        IntakeSecretWithSecret: schema(intakeSecretWithSecretResponseSchema),
        Problem: schema(problemSchema),
        Spend: schema(spendResponseSchema),
        ShadowReport: schema(shadowReportResponseSchema),
        Denial: schema(denialResponseSchema),
        DenialList: schema(denialListResponseSchema),
        CancelTask: schema(cancelTaskRequestSchema, 'input'),
        Me: schema(meResponseSchema),
        ReviewItem: schema(reviewItemSchema),
        ReviewAnswer: schema(reviewAnswerRequestSchema, 'input'),
        PutBudget: schema(putBudgetRequestSchema, 'input'),
        Budget: schema(budgetResponseSchema),
        CreateWebhookEndpoint: schema(createWebhookEndpointRequestSchema, 'input'),
        UpdateWebhookEndpoint: schema(updateWebhookEndpointRequestSchema, 'input'),
        RotateWebhookSecret: schema(rotateWebhookSecretRequestSchema, 'input'),
        WebhookEndpoint: schema(webhookEndpointResponseSchema),
        WebhookEndpointWithSecret: schema(webhookEndpointWithSecretResponseSchema),
        TaskWebhookSecret: schema(taskWebhookSecretResponseSchema),
        TaskWebhookSecretWithSecret: schema(taskWebhookSecretWithSecretResponseSchema),
        WebhookDelivery: schema(webhookDeliveryResponseSchema),
        WebhookDeliveryList: schema(webhookDeliveryListResponseSchema),
        WebhookDeliveryDetail: schema(webhookDeliveryDetailResponseSchema),
        ReplayWebhooks: schema(replayWebhooksRequestSchema, 'input'),
        WebhookPayload: schema(webhookPayloadSchema),
        ...POLICY_SCHEMAS,
      },
    },
    paths: {
      '/v1/tasks': {
        post: {
          summary: 'Submit a task',
          security: bearer,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                "Same key and body return the same task (202, Idempotent-Replayed: true) for as long as the task is kept; same key with a different body is a 422; while the key's first request is still being admitted, a 409 with Retry-After.",
              schema: { type: 'string', maxLength: 255 },
            },
          ],
          requestBody: { required: true, ...json('TaskSubmission') },
          responses: {
            '202': {
              description: 'Accepted; poll the Location',
              headers: {
                Location: { schema: { type: 'string' } },
                'Idempotent-Replayed': { schema: { type: 'string', enum: ['true'] } },
              },
              ...json('TaskAccepted'),
            },
            '400': problem(
              'Malformed JSON, a field that breaks the contract (`issues` lists each), or a NUL or lone surrogate in any string (the message names the field)',
            ),
            '401': problem('Missing, malformed or unknown API key'),
            '403': problem('The key may not submit'),
            '413': problem(
              'Body larger than GATEWAY_MAX_BODY_BYTES (derived from KAFKA_MAX_MESSAGE_BYTES), or a task whose accepted event would exceed KAFKA_MAX_MESSAGE_BYTES; nothing is stored',
            ),
            '415': problem('Content-Type is not application/json'),
            '409': retryLater(
              'request in progress: another request with this Idempotency-Key is being admitted; send it again after Retry-After for its answer',
            ),
            '422': problem('Idempotency-Key reused with a different body'),
            '429': problem(
              'The key is over its request rate, or the tenant has its maximum of unfinished tasks; honour Retry-After',
            ),
            '503': DEPENDENCY_UNAVAILABLE,
          },
        },
      },
      '/v1/tasks/{id}': {
        get: {
          summary: 'Poll a task',
          description:
            'Submitter, auditor and admin keys read every task of their tenant; a reviewer key reads only the tasks a human was asked about (waiting for review, or answered since), and gets a 404 for any other.',
          security: bearer,
          parameters: [pathParameter('id', 'uuid')],
          responses: {
            '200': {
              description: 'The task; Retry-After (seconds) is set while it is not terminal',
              headers: { 'Retry-After': { schema: { type: 'integer' } } },
              ...json('Task'),
            },
            '401': problem('Missing or unknown API key'),
            '404': problem("No such task for this tenant (another tenant's task is a 404 too)"),
            '503': DEPENDENCY_UNAVAILABLE,
          },
        },
      },
      '/v1/tasks/{id}/cancel': {
        post: {
          summary:
            'Cancel a task: an in-flight reasoning call is aborted, a task waiting for a human is cancelled at once',
          security: bearer,
          parameters: [pathParameter('id', 'uuid')],
          requestBody: { required: false, ...json('CancelTask') },
          responses: {
            '202': { description: 'Cancellation requested; poll the task for its final status' },
            '400': problem('A reason that breaks the contract, or holds a NUL or lone surrogate'),
            '403': problem('The key may not cancel'),
            '404': problem('No such task for this tenant'),
            '409': problem('The task already ended'),
            '503': DEPENDENCY_UNAVAILABLE,
          },
        },
      },
      '/v1/me': {
        get: {
          summary:
            'Who the calling key is: a tenant key with its tenant, role and key id, or the platform admin or auditor (any key)',
          security: bearer,
          responses: {
            '200': { description: 'The caller', ...json('Me') },
            '401': problem('No key, or an unknown or revoked key'),
          },
        },
      },
      '/v1/reviews': {
        get: {
          summary:
            'The human review queue: tasks of the tenant waiting for a person, oldest first (reviewer, admin)',
          security: bearer,
          parameters: [
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
          ],
          responses: {
            '200': listOf('Queue', 'ReviewItem'),
            '403': problem('Only reviewers and admins'),
          },
        },
      },
      '/v1/reviews/{id}/claim': {
        post: {
          summary: 'Claim an escalated task so no other reviewer answers it (GATEWAY_REVIEW_CLAIM_TTL_MS)',
          security: bearer,
          parameters: [pathParameter('id', 'uuid')],
          responses: {
            '201': { description: 'Claimed (or renewed)', ...json('ReviewItem') },
            '404': problem('No such task for this tenant'),
            '409': problem('Not waiting for review, or claimed by another reviewer'),
          },
        },
      },
      '/v1/reviews/{id}/answer': {
        post: {
          summary: 'Answer a claimed task; it completes with answeredBy human',
          security: bearer,
          parameters: [pathParameter('id', 'uuid')],
          requestBody: { required: true, ...json('ReviewAnswer') },
          responses: {
            '202': { description: 'Answered' },
            '400': problem('Empty or oversized answer, or one holding a NUL or lone surrogate'),
            '409': problem('Not claimed by this reviewer, or not waiting for review'),
          },
        },
      },
      '/v1/admin/tenants': {
        post: {
          summary: 'Create a tenant (platform admin)',
          security: bearer,
          requestBody: { required: true, ...json('CreateTenant') },
          responses: {
            '201': { description: 'Created', ...json('Tenant') },
            '409': problem('Tenant id taken'),
          },
        },
        get: {
          summary: 'List tenants (platform admin)',
          security: bearer,
          responses: {
            '200': listOf('Tenants', 'Tenant'),
          },
        },
      },
      '/v1/admin/tenants/{tenantId}': {
        patch: {
          summary:
            "Set a tenant's quotas (platform admin); null returns a quota to the default, an absent one is left as it is",
          security: bearer,
          parameters: [pathParameter('tenantId')],
          requestBody: { required: true, ...json('PatchTenant') },
          responses: {
            '200': { description: 'The tenant with its quotas', ...json('Tenant') },
            '400': problem('An unknown or out-of-range quota'),
            '403': problem('Only the platform admin sets quotas'),
            '404': problem('No such tenant'),
          },
        },
      },
      '/v1/admin/tenants/{tenantId}/api-keys': {
        post: {
          summary: "Create an API key (platform admin, or the tenant's admin); the key is shown once",
          security: bearer,
          parameters: [pathParameter('tenantId')],
          requestBody: { required: true, ...json('CreateApiKey') },
          responses: {
            '201': { description: 'Created', ...json('CreatedApiKey') },
            '404': problem('Unknown tenant'),
          },
        },
        get: {
          summary: "List a tenant's API keys",
          security: bearer,
          parameters: [pathParameter('tenantId')],
          responses: {
            '200': listOf('Keys (never their secrets)', 'ApiKey'),
          },
        },
      },
      '/v1/admin/tenants/{tenantId}/api-keys/{keyId}': {
        delete: {
          summary: 'Revoke an API key',
          security: bearer,
          parameters: [pathParameter('tenantId'), pathParameter('keyId', 'uuid')],
          responses: { '200': { description: 'Revoked', ...json('ApiKey') }, '404': problem('Unknown key') },
        },
      },
      '/v1/admin/tenants/{tenantId}/intake-secrets': {
        post: {
          summary:
            "Issue a secret that signs the tenant's submissions on tasks.task.submitted.v1 (platform admin, or the tenant's admin); shown once. The tenant's current secrets stay valid for the overlap (default 24 h): this is how a secret is rotated",
          security: bearer,
          parameters: [pathParameter('tenantId')],
          requestBody: { required: false, ...json('IssueIntakeSecret') },
          responses: {
            '201': {
              description: 'The new secret (whsec_...), the only time it is shown',
              ...json('IntakeSecretWithSecret'),
            },
            '400': problem('Invalid overlap'),
            '404': problem('Unknown tenant'),
          },
        },
        get: {
          summary: "A tenant's intake secrets, newest first, without their values",
          security: bearer,
          parameters: [pathParameter('tenantId')],
          responses: {
            '200': listOf(
              'Secrets: active, expiring (replaced, valid until expiresAt), expired or revoked',
              'IntakeSecret',
            ),
            '404': problem('Unknown tenant'),
          },
        },
      },
      '/v1/admin/tenants/{tenantId}/intake-secrets/{secretId}': {
        delete: {
          summary: 'Revoke an intake secret at once: submissions signed only with it are dead-lettered',
          security: bearer,
          parameters: [pathParameter('tenantId'), pathParameter('secretId', 'uuid')],
          responses: {
            '200': { description: 'Revoked', ...json('IntakeSecret') },
            '404': problem('Unknown secret'),
          },
        },
      },
      '/v1/ledger/spend': {
        get: {
          summary: 'Spend of the tenant, grouped (admin, auditor; the platform admin passes tenantId)',
          security: bearer,
          parameters: queryParameters(spendQuerySchema),
          responses: {
            '200': { description: 'Rows and a total that is their exact sum (micro-USD)', ...json('Spend') },
            '400': problem('A bad query parameter, or groupBy=call without a taskId'),
            '403': problem('Only admins and auditors read spend'),
          },
        },
      },
      '/v1/shadow/report': {
        get: {
          summary:
            "Shadow evaluation of a period (admin, auditor; the platform admin passes tenantId): tasks compared, agreement with its 95% interval, each side's booked cost, latency and tokens, and the projected monthly cost of switching the route to the shadow model",
          security: bearer,
          parameters: queryParameters(shadowReportQuerySchema),
          responses: {
            '200': { description: 'The report (money in micro-USD)', ...json('ShadowReport') },
            '400': problem('A bad query parameter, or from not before to'),
            '403': problem('Only admins and auditors read the report; a tenant reads only its own'),
          },
        },
      },
      '/v1/ledger/spend.csv': {
        get: {
          summary: 'The same report as CSV, with a header row',
          security: bearer,
          parameters: queryParameters(spendQuerySchema),
          responses: {
            '200': { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } },
          },
        },
      },
      '/v1/ledger/denials': {
        get: {
          summary:
            'Reservations the ledger refused (budget, task ceiling, open breaker, no price), newest first, a page at a time (admin, auditor; the platform admin passes tenantId)',
          security: bearer,
          parameters: queryParameters(denialsQuerySchema),
          responses: {
            '200': {
              description: 'A page of denials; nextCursor is null on the last page',
              ...json('DenialList'),
            },
            '400': problem('A bad filter, limit or cursor'),
            '403': problem('Only admins and auditors read denials; a tenant reads only its own'),
          },
        },
      },
      '/v1/ledger/budgets': {
        get: {
          summary: "The tenant's budgets with current spend, holds and breaker state",
          security: bearer,
          parameters: queryParameters(tenantQuerySchema),
          responses: {
            '200': {
              description: 'Budgets',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      tenantId: { type: 'string' },
                      budgets: { type: 'array', items: { $ref: '#/components/schemas/Budget' } },
                    },
                  },
                },
              },
            },
          },
        },
        put: {
          summary:
            'Set a budget (tenant admin or platform admin): limits in USD, soft thresholds, breaker policy and rate',
          security: bearer,
          parameters: queryParameters(tenantQuerySchema),
          requestBody: { required: true, ...json('PutBudget') },
          responses: {
            '200': { description: 'The budget as stored', ...json('Budget') },
            '400': problem('Invalid budget'),
            '403': problem('Not an admin'),
          },
        },
      },
      ...WEBHOOK_PATHS,
      ...AUDIT_PATHS,
      ...POLICY_PATHS,
      '/health': {
        get: { summary: 'Liveness and database reachability', responses: { '200': { description: 'OK' } } },
      },
      '/metrics': {
        get: {
          summary: "The gateway's Prometheus metrics",
          description:
            'The text exposition format, unauthenticated like /health: keep it off the public ingress. Every ' +
            'service serves the same path on its HTTP port (README, "Metrics, dashboard and alerts").',
          responses: {
            '200': {
              description: 'Every instrument of this gateway instance',
              content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
            },
          },
        },
      },
    },
  };
}

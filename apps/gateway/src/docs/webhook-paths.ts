import { tenantQuerySchema, webhookDeliveriesQuerySchema } from '@deliberate/contracts';
import {
  arrayOf,
  body,
  objectResponse,
  ok,
  operation,
  pathParameter,
  problem,
  queryParameters,
} from './openapi-parts';

// Served by the webhooks service behind the gateway. Tenant admins manage, auditors read; the platform admin
// names a tenant with ?tenantId=. Every delivery is a POST of a WebhookPayload with the Standard Webhooks headers
// webhook-id, webhook-timestamp and webhook-signature (v1,<base64 HMAC-SHA256 of "id.timestamp.body">).

const ofTenant = { parameters: queryParameters(tenantQuerySchema) };
const ofEndpoint = { parameters: [pathParameter('id', 'uuid'), ...ofTenant.parameters] };
const ofDelivery = {
  parameters: [
    {
      ...pathParameter('id'),
      schema: { type: 'string', pattern: '^msg_[A-Za-z0-9]{10,64}$' },
      description: 'the message id, sent as the webhook-id header',
    },
    ...ofTenant.parameters,
  ],
};
const rotation = body('RotateWebhookSecret', false);
const unknownEndpoint = problem('Unknown endpoint');
const unknownDelivery = problem('Unknown delivery');

export const WEBHOOK_PATHS = {
  '/v1/webhooks/endpoints': {
    post: operation(
      'Register a webhook endpoint (admin); the answer shows its whsec_ signing secret, once',
      {
        '201': ok('The endpoint, with its secret', 'WebhookEndpointWithSecret'),
        '400': problem(
          'Invalid body, or a URL that is not http(s), carries credentials or names a blocked address',
        ),
        '403': problem('Not an admin'),
      },
      { ...ofTenant, requestBody: body('CreateWebhookEndpoint') },
    ),
    get: operation(
      "The tenant's endpoints (admin, auditor), without secrets",
      {
        '200': objectResponse('Endpoints', {
          tenantId: { type: 'string' },
          endpoints: arrayOf('WebhookEndpoint'),
        }),
      },
      ofTenant,
    ),
  },
  '/v1/webhooks/endpoints/{id}': {
    get: operation(
      'One endpoint (admin, auditor)',
      { '200': ok('The endpoint', 'WebhookEndpoint'), '404': unknownEndpoint },
      ofEndpoint,
    ),
    patch: operation(
      'Change the URL, description or event types (admin)',
      {
        '200': ok('The endpoint as stored', 'WebhookEndpoint'),
        '400': problem('Invalid change'),
        '404': unknownEndpoint,
      },
      { ...ofEndpoint, requestBody: body('UpdateWebhookEndpoint') },
    ),
  },
  '/v1/webhooks/endpoints/{id}/rotate-secret': {
    post: operation(
      'Issue a new secret (admin). During the overlap (default 24 h) webhook-signature carries both signatures, new first',
      { '200': ok('The endpoint, with its new secret', 'WebhookEndpointWithSecret'), '404': unknownEndpoint },
      { ...ofEndpoint, requestBody: rotation },
    ),
  },
  '/v1/webhooks/endpoints/{id}/disable': {
    post: operation(
      'Stop deliveries to the endpoint (admin); what was scheduled for it becomes dead letters',
      { '200': ok('The endpoint', 'WebhookEndpoint'), '404': unknownEndpoint },
      ofEndpoint,
    ),
  },
  '/v1/webhooks/endpoints/{id}/enable': {
    post: operation(
      'Resume deliveries (admin); replay sends what was missed',
      { '200': ok('The endpoint', 'WebhookEndpoint'), '404': unknownEndpoint },
      ofEndpoint,
    ),
  },
  '/v1/webhooks/task-secret': {
    get: operation(
      "Whether the tenant has a secret for deliveries to tasks' own webhookUrl (admin, auditor)",
      { '200': ok('The secret, without its value', 'TaskWebhookSecret'), '404': problem('None yet') },
      ofTenant,
    ),
    post: operation(
      "Create the secret that signs deliveries to tasks' webhookUrl (admin); shown once",
      {
        '201': ok('The secret', 'TaskWebhookSecretWithSecret'),
        '409': problem('The tenant already has one: rotate it'),
      },
      ofTenant,
    ),
  },
  '/v1/webhooks/task-secret/rotate': {
    post: operation(
      'Issue a new task webhook secret (admin), with an overlap as for endpoints',
      { '200': ok('The new secret', 'TaskWebhookSecretWithSecret'), '404': problem('None to rotate') },
      { ...ofTenant, requestBody: rotation },
    ),
  },
  '/v1/webhooks/deliveries': {
    get: operation(
      "The tenant's deliveries, newest first (admin, auditor): one per event and target",
      { '200': ok('A page', 'WebhookDeliveryList'), '400': problem('A bad filter') },
      { parameters: queryParameters(webhookDeliveriesQuerySchema) },
    ),
  },
  '/v1/webhooks/deliveries/{id}': {
    get: operation(
      'One delivery with every attempt: outcome, HTTP status, latency, response snippet, error',
      { '200': ok('The delivery', 'WebhookDeliveryDetail'), '404': unknownDelivery },
      ofDelivery,
    ),
  },
  '/v1/webhooks/deliveries/{id}/replay': {
    post: operation(
      'Send a delivered or dead-lettered message again, now, with the same webhook-id (admin)',
      {
        '202': ok('Scheduled', 'WebhookDelivery'),
        '404': unknownDelivery,
        '409': problem('Already scheduled, or its endpoint is disabled'),
      },
      ofDelivery,
    ),
  },
  '/v1/webhooks/replay': {
    post: operation(
      'Replay every dead letter created in [from, to), optionally of one endpoint (admin)',
      {
        '202': objectResponse('How many were scheduled', { replayed: { type: 'integer' } }),
        '400': problem('A bad range'),
      },
      { ...ofTenant, requestBody: body('ReplayWebhooks') },
    ),
  },
};

import { tenantPolicyResponseSchema, tenantPolicySchema } from '@deliberate/contracts';
import { bearer, json, pathParameter, problem, schema } from './openapi-parts';

// The tenant policy API: a tenant's admin key at /v1/policy, the platform admin at /v1/admin/tenants/{id}/policy.

export const POLICY_SCHEMAS = {
  TenantPolicy: schema(tenantPolicySchema, 'input'),
  TenantPolicyResponse: schema(tenantPolicyResponseSchema),
};

const ifMatch = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description:
    'The version the change is based on, as the ETag of a GET gave it ("3"): 412 if it is no longer current.',
  schema: { type: 'string' },
};

const read = (who: string) => ({
  summary: `Read the tenant's policy (${who}); a tenant that never set one has the default policy, version 0`,
  security: bearer,
  responses: {
    '200': {
      description: 'The policy, its version (also the ETag), who set it and when',
      ...json('TenantPolicyResponse'),
    },
    '403': problem('Not allowed for this key'),
  },
});

const write = (who: string) => ({
  summary: `Set the tenant's policy (${who}) as a new version; omitted fields take their defaults. Published on tenants.policy.updated.v1 and kept in the version history`,
  security: bearer,
  parameters: [ifMatch],
  requestBody: { required: true, ...json('TenantPolicy') },
  responses: {
    '200': { description: 'The policy as stored, with its new version', ...json('TenantPolicyResponse') },
    '400': problem('An invalid or unknown field (every one is named), or an If-Match that is not a version'),
    '403': problem('Not allowed for this key'),
    '412': problem('If-Match named a version that is no longer current'),
  },
});

export const POLICY_PATHS = {
  '/v1/policy': { get: read("the tenant's admin key"), put: write("the tenant's admin key") },
  '/v1/admin/tenants/{tenantId}/policy': {
    get: {
      ...read('platform admin'),
      parameters: [pathParameter('tenantId')],
      responses: { ...read('platform admin').responses, '404': problem('Unknown tenant') },
    },
    put: {
      ...write('platform admin'),
      parameters: [pathParameter('tenantId'), ifMatch],
      responses: { ...write('platform admin').responses, '404': problem('Unknown tenant') },
    },
  },
};

import { z } from 'zod';
import { tenantPolicySchema } from '../policy/tenant-policy.schema';
import { defineEvent } from './event-definition';

export const tenantPolicyUpdatedEvent = defineEvent({
  topic: 'tenants.policy.updated.v1',
  summary:
    "A tenant's policy (fallback chain, budget-denial action, thinking ceiling, default effort, latency threshold, context selection) was set; the whole policy, with its version. Readers keep the highest version per tenant.",
  schema: z.strictObject({
    version: z.int().positive(),
    policy: tenantPolicySchema,
    /** The principal that changed it: `key:<apiKeyId>` or `platform-admin`. */
    updatedBy: z.string().min(1).max(200),
    updatedAt: z.iso.datetime(),
  }),
  partitions: 3,
  key: 'tenantId',
  // Readers rebuild every tenant's policy from the beginning at start: the latest version per tenant must stay.
  compacted: true,
  producers: ['gateway'],
  consumers: ['triage', 'reasoner', 'ledger', 'audit'],
});
export type TenantPolicyUpdated = z.infer<typeof tenantPolicyUpdatedEvent.schema>;

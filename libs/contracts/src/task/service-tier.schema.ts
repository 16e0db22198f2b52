import { z } from 'zod';

/**
 * The provider's service tier of a model call: `default`, or `flex` (batch prices for work that can wait; the provider
 * may refuse it when it has no capacity, unbilled). The ledger prices a call at the tier it was served at.
 */
export const serviceTierSchema = z.enum(['default', 'flex']);
export type ServiceTier = z.infer<typeof serviceTierSchema>;

import { z } from 'zod';
import { tokenUsageSchema } from '../task/token-usage.schema';
import { defineEvent } from './event-definition';

export const modelTierSchema = z.enum(['fast', 'reasoning', 'standard']);
export type ModelTier = z.infer<typeof modelTierSchema>;

export const modelCallRecordedEvent = defineEvent({
  topic: 'usage.model-call.recorded.v1',
  summary: 'One model call and what it consumed; the cost ledger books each exactly once by event id.',
  schema: z.strictObject({
    callId: z.string().min(1),
    tier: modelTierSchema,
    model: z.string().min(1),
    /** Why the call was made: `classify`, `answer`, `rank-context`, `reason`, ... */
    purpose: z.string().min(1).max(50),
    usage: tokenUsageSchema,
    latencyMs: z.int().nonnegative(),
    outcome: z.enum(['ok', 'length', 'error']),
    finishReason: z.string().nullable(),
    errorMessage: z.string().max(2000).nullable(),
    /** The ledger reservation this call spent against; null for unreserved calls (the triage's cheap ones). */
    reservationId: z.uuid().nullable().default(null),
  }),
  partitions: 6,
  key: 'tenantId',
  producers: ['triage', 'reasoner'],
  consumers: ['ledger', 'audit'],
});
export type ModelCallRecorded = z.infer<typeof modelCallRecordedEvent.schema>;

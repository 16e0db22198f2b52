import { z } from 'zod';
import { serviceTierSchema } from '../task/service-tier.schema';
import { tokenUsageSchema } from '../task/token-usage.schema';
import { defineEvent } from './event-definition';

export const modelTierSchema = z.enum(['fast', 'reasoning', 'standard']);
export type ModelTier = z.infer<typeof modelTierSchema>;

/** Longest message content kept in `prompt`; the model saw more only when a document was longer. */
export const RECORDED_PROMPT_CONTENT_MAX_CHARS = 200_000;

/** The messages of one model call as the model received them, for the audit trail. */
export const recordedPromptSchema = z
  .array(
    z.strictObject({ role: z.string().max(20), content: z.string().max(RECORDED_PROMPT_CONTENT_MAX_CHARS) }),
  )
  .max(400);
export type RecordedPrompt = z.infer<typeof recordedPromptSchema>;

/** Cuts each message to the recorded maximum, saying so, so an oversize prompt never makes the event invalid. */
export function recordPrompt(messages: readonly { role: string; content: string }[]): RecordedPrompt {
  return messages.slice(0, 400).map((m) => ({
    role: m.role.slice(0, 20),
    content:
      m.content.length > RECORDED_PROMPT_CONTENT_MAX_CHARS
        ? `${m.content.slice(0, RECORDED_PROMPT_CONTENT_MAX_CHARS - 40)}\n[cut: ${m.content.length} chars in all]`
        : m.content,
  }));
}

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
    /**
     * `aborted`: the call was cut off (a lost lease, a shutdown, a timeout) before the provider reported usage; with
     * zero usage and a reservation the ledger books it at its hold's worst case, as the provider may bill it.
     */
    outcome: z.enum(['ok', 'length', 'error', 'aborted']),
    finishReason: z.string().nullable(),
    errorMessage: z.string().max(2000).nullable(),
    /** The ledger reservation this call spent against; null for unreserved calls (the triage's cheap ones). */
    reservationId: z.uuid().nullable().default(null),
    /**
     * The service tier the provider served the call at; the ledger books it at that tier's price. Null from
     * producers that do not ask for one: the default tier.
     */
    serviceTier: serviceTierSchema.nullable().default(null),
    /**
     * The messages sent, as the model saw them (context documents included), for the audit trail; null from
     * producers whose prompt is recorded elsewhere (the reasoner's is in reasoning.trace.recorded.v1).
     */
    prompt: recordedPromptSchema.nullable().default(null),
  }),
  partitions: 6,
  key: 'tenantId',
  producers: ['triage', 'reasoner'],
  consumers: ['ledger', 'audit'],
  cuttableTexts: ['prompt[].content'],
});
export type ModelCallRecorded = z.infer<typeof modelCallRecordedEvent.schema>;

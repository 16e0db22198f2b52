import { z } from 'zod';
import { answeredBySchema } from '../task/task-result.schema';
import { serviceTierSchema } from '../task/service-tier.schema';
import { tokenUsageSchema } from '../task/token-usage.schema';
import { defineEvent } from './event-definition';

/** How a shadow call ended: an answer (`ok`, or `length` when its output budget ran out), or none. */
export const shadowOutcomeSchema = z.enum(['ok', 'length', 'error', 'refused', 'budget_denied']);
export type ShadowOutcome = z.infer<typeof shadowOutcomeSchema>;

/** What the judge model said of two answers not equal once normalised, or why it said nothing. */
export const judgeVerdictSchema = z.enum(['same', 'different', 'unclear', 'error', 'budget_denied']);
export type JudgeVerdict = z.infer<typeof judgeVerdictSchema>;

export const shadowComparisonRecordedEvent = defineEvent({
  topic: 'shadow.comparison.recorded.v1',
  summary:
    "A completed task's answer compared with the shadow route's answer to the same prompt (never acted on); the ledger's shadow report reads it.",
  schema: z.strictObject({
    /** The shadow run: one per sampled task, its id stable across redeliveries. */
    shadowRunId: z.uuid(),
    /** The live route of the task (the reasoner's tasks: `reasoning`). */
    route: z.string().min(1).max(50),
    live: z.strictObject({
      model: z.string().min(1).max(200),
      answeredBy: answeredBySchema,
      /** From the task's acceptance by the reasoner to its answer. */
      latencyMs: z.int().nonnegative(),
      usage: tokenUsageSchema,
    }),
    shadow: z.strictObject({
      model: z.string().min(1).max(200),
      /** The tier the provider served (the one asked for when it did not say). */
      serviceTier: serviceTierSchema,
      outcome: shadowOutcomeSchema,
      latencyMs: z.int().nonnegative(),
      usage: tokenUsageSchema,
      /** The shadow call's ledger hold: its booking is the shadow cost. Null when it was refused a hold. */
      reservationId: z.uuid().nullable(),
      answer: z.string().nullable(),
      /** Why there is no answer: the provider's error, a flex refusal, the shadow budget. */
      errorMessage: z.string().max(2000).nullable(),
    }),
    agreement: z.strictObject({
      /**
       * `normalised_exact`: equal once case, whitespace and surrounding punctuation are normalised (or not, with no
       * judge); `judge`: not equal so, and the policy's judge model decided.
       */
      method: z.enum(['normalised_exact', 'judge']),
      /** Null when the shadow gave no answer: the task is not counted in the agreement rate. */
      agreed: z.boolean().nullable(),
      /** The judge's call, when one was asked; its hold is booked under the shadow budget. */
      judge: z
        .strictObject({
          model: z.string().min(1).max(200),
          verdict: judgeVerdictSchema,
          reason: z.string().max(2000).nullable(),
          latencyMs: z.int().nonnegative(),
          usage: tokenUsageSchema,
          reservationId: z.uuid().nullable(),
        })
        .nullable()
        .default(null),
    }),
    comparedAt: z.iso.datetime(),
  }),
  partitions: 6,
  key: 'taskId',
  producers: ['reasoner'],
  consumers: ['ledger', 'audit'],
  cuttableTexts: ['shadow.answer'],
});
export type ShadowComparisonRecorded = z.infer<typeof shadowComparisonRecordedEvent.schema>;

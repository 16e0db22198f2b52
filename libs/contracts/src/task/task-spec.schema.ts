import { z } from 'zod';

// What a client asks for. Shared by the HTTP body, the Kafka submission and every event that carries the task onward.
export const TASK_LIMITS = {
  maxInputChars: 200_000,
  maxMessages: 200,
  maxContextDocuments: 100,
  maxContextDocumentChars: 500_000,
  maxMetadataKeys: 50,
  maxMetadataKeyChars: 64,
  maxMetadataValueChars: 512,
  minLatencyBudgetMs: 100,
  maxLatencyBudgetMs: 86_400_000,
  maxCostUsd: 10_000,
  // Below this budget the reasoning tier (20 s to minutes) cannot answer in time.
  reasoningMinLatencyBudgetMs: 3_000,
  maxThinkingTokens: 1_000_000,
} as const;

export const reasoningEffortSchema = z.enum(['low', 'medium', 'high']);
export type ReasoningEffort = z.infer<typeof reasoningEffortSchema>;

export const taskModeSchema = z.enum(['auto', 'fast', 'reasoning']);
export type TaskMode = z.infer<typeof taskModeSchema>;

export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().min(1).max(TASK_LIMITS.maxInputChars),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const taskInputSchema = z.union([
  z.string().min(1, 'must not be empty').max(TASK_LIMITS.maxInputChars),
  z.array(chatMessageSchema).min(1, 'needs at least one message').max(TASK_LIMITS.maxMessages),
]);
export type TaskInput = z.infer<typeof taskInputSchema>;

export const contextDocumentSchema = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  title: z.string().max(500).optional(),
  content: z.string().min(1).max(TASK_LIMITS.maxContextDocumentChars),
});
export type ContextDocument = z.infer<typeof contextDocumentSchema>;

export const metadataSchema = z
  .record(
    z.string().min(1).max(TASK_LIMITS.maxMetadataKeyChars),
    z.union([z.string().max(TASK_LIMITS.maxMetadataValueChars), z.number(), z.boolean()]),
  )
  .refine((m) => Object.keys(m).length <= TASK_LIMITS.maxMetadataKeys, {
    message: `at most ${TASK_LIMITS.maxMetadataKeys} keys`,
  });
export type TaskMetadata = z.infer<typeof metadataSchema>;

export const webhookUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);

export const projectTagSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'letters, digits and . _ : / - only, starting with a letter or digit');

/** A submission as a client writes it, over HTTP or onto Kafka. */
export const taskSubmissionSchema = z
  .strictObject({
    input: taskInputSchema,
    context: z.array(contextDocumentSchema).max(TASK_LIMITS.maxContextDocuments).optional(),
    mode: taskModeSchema.default('auto'),
    latencyBudgetMs: z
      .int()
      .min(TASK_LIMITS.minLatencyBudgetMs)
      .max(TASK_LIMITS.maxLatencyBudgetMs)
      .optional(),
    // Money is kept in whole micro-USD: a ceiling below one would round to nothing.
    maxCostUsd: z
      .number()
      .min(0.000001, 'must be at least 0.000001 (one micro-USD)')
      .max(TASK_LIMITS.maxCostUsd)
      .optional(),
    /** Cap on the reasoning model's tokens (thinking plus answer), within the tenant's ceiling. */
    maxThinkingTokens: z.int().min(16).max(TASK_LIMITS.maxThinkingTokens).optional(),
    reasoningEffort: reasoningEffortSchema.optional(),
    webhookUrl: webhookUrlSchema.optional(),
    metadata: metadataSchema.optional(),
    /** A project tag: spend is also counted, and budgets enforced, per project. */
    project: projectTagSchema.optional(),
  })
  .superRefine((s, ctx) => {
    if (
      s.mode === 'reasoning' &&
      s.latencyBudgetMs !== undefined &&
      s.latencyBudgetMs < TASK_LIMITS.reasoningMinLatencyBudgetMs
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['latencyBudgetMs'],
        message: `mode 'reasoning' needs latencyBudgetMs of at least ${TASK_LIMITS.reasoningMinLatencyBudgetMs}; reasoning calls take 20 s or more`,
      });
    }
  });
export type TaskSubmission = z.input<typeof taskSubmissionSchema>;

/** The normalized task every service works from: defaults applied, money in micro-USD. */
export const taskSpecSchema = z.strictObject({
  input: taskInputSchema,
  context: z.array(contextDocumentSchema).max(TASK_LIMITS.maxContextDocuments),
  mode: taskModeSchema,
  latencyBudgetMs: z.int().positive().nullable(),
  maxCostMicroUsd: z.int().positive().nullable(),
  // Added after v1 first shipped: absent in older events, hence the defaults.
  maxThinkingTokens: z.int().positive().nullable().default(null),
  reasoningEffort: reasoningEffortSchema.nullable().default(null),
  webhookUrl: z.string().max(2048).nullable(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  /** The submission's project tag, and the API key that submitted it (null from the Kafka intake): every
   * reservation for the task is checked against the budgets of the tenant, the key and the project. */
  project: z.string().max(200).nullable().default(null),
  apiKeyId: z.string().max(100).nullable().default(null),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

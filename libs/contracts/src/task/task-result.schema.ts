import { z } from 'zod';
import { tokenUsageSchema } from './token-usage.schema';

export const answeredBySchema = z.enum(['fast_model', 'reasoning_model', 'standard_model', 'human']);
export type AnsweredBy = z.infer<typeof answeredBySchema>;

export const taskResultSchema = z.strictObject({
  answer: z.string(),
  answeredBy: answeredBySchema,
  model: z.string().nullable(),
  usage: tokenUsageSchema.nullable(),
  latencyMs: z.int().nonnegative(),
  degraded: z.strictObject({ reason: z.string() }).nullable(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

export const taskErrorSchema = z.strictObject({
  code: z.string().min(1).max(100),
  message: z.string().max(4000),
});
export type TaskError = z.infer<typeof taskErrorSchema>;

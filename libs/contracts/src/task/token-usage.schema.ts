import { z } from 'zod';

// Token counts as providers bill them. Following OpenAI's usage report, cachedInputTokens is a part of inputTokens
// and reasoningTokens is a part of outputTokens: a price table must count each token once.
export const tokenUsageSchema = z.strictObject({
  inputTokens: z.int().nonnegative(),
  cachedInputTokens: z.int().nonnegative(),
  outputTokens: z.int().nonnegative(),
  reasoningTokens: z.int().nonnegative(),
});
export type TokenUsage = z.infer<typeof tokenUsageSchema>;

export const ZERO_USAGE: TokenUsage = {
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
};

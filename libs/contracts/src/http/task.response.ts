import { z } from 'zod';
import { triageDecisionSchema } from '../events/task-triaged.event';
import { taskErrorSchema, taskResultSchema } from '../task/task-result.schema';
import { contextDocumentSchema, taskInputSchema, taskModeSchema } from '../task/task-spec.schema';
import { taskStatusSchema } from '../task/task-status';

export const taskResponseSchema = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  status: taskStatusSchema,
  mode: taskModeSchema,
  submittedVia: z.enum(['http', 'kafka']),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  triage: triageDecisionSchema.nullable(),
  result: taskResultSchema.nullable(),
  error: taskErrorSchema.nullable(),
  /** Why the task waits for a human (status needs_human), and what was tried first. */
  escalation: z
    .object({ reason: z.string(), attempts: z.array(z.string()), escalatedAt: z.iso.datetime() })
    .nullable(),
  cancellation: z.object({ reason: z.string(), cancelledAt: z.iso.datetime() }).nullable(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type TaskResponse = z.infer<typeof taskResponseSchema>;

export const taskAcceptedResponseSchema = z.object({
  id: z.uuid(),
  status: taskStatusSchema,
  location: z.string(),
});
export type TaskAcceptedResponse = z.infer<typeof taskAcceptedResponseSchema>;

export const problemSchema = z.object({
  statusCode: z.int(),
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof problemSchema>;

export const cancelTaskRequestSchema = z.strictObject({ reason: z.string().min(1).max(1000).optional() });
export type CancelTaskRequest = z.infer<typeof cancelTaskRequestSchema>;

export const reviewAnswerRequestSchema = z.strictObject({
  answer: z.string().min(1, 'must not be empty').max(200_000),
});
export type ReviewAnswerRequest = z.infer<typeof reviewAnswerRequestSchema>;

export const reviewItemSchema = z.object({
  task: taskResponseSchema,
  /** What the task asks, for the person answering it: its input and the context documents it came with. */
  question: z.object({ input: taskInputSchema, context: z.array(contextDocumentSchema) }),
  claim: z
    .object({ reviewerKeyId: z.string(), claimedAt: z.iso.datetime(), expiresAt: z.iso.datetime() })
    .nullable(),
});
export type ReviewItem = z.infer<typeof reviewItemSchema>;

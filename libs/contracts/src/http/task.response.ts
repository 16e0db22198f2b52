import { z } from 'zod';
import { triageDecisionSchema } from '../events/task-triaged.event';
import { taskErrorSchema, taskResultSchema } from '../task/task-result.schema';
import { taskModeSchema } from '../task/task-spec.schema';
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

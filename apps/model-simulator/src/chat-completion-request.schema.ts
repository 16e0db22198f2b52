import { z } from 'zod';
import { parseRequestBody, type RequestProblem } from './request-problem';

// The subset of OpenAI's chat completion request the simulator understands. Unknown fields pass through, as the
// real API accepts many more parameters than the simulator models.
const textPartSchema = z.looseObject({
  type: z.literal('text'),
  text: z.string(),
});

const messageSchema = z
  .looseObject({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z
      .union([z.string(), z.array(textPartSchema)])
      .nullable()
      .optional(),
  })
  .superRefine((message, ctx) => {
    // Only an assistant turn that carried tool calls may come back without content.
    if (message.role !== 'assistant' && (message.content === undefined || message.content === null)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: `is required for role '${message.role}'` });
    }
  });

export const REASONING_EFFORTS = ['minimal', 'low', 'medium', 'high'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

const jsonSchemaFormatSchema = z.looseObject({
  type: z.literal('json_schema'),
  json_schema: z.looseObject({
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
    description: z.string().optional(),
  }),
});

const responseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  jsonSchemaFormatSchema,
]);

const maxTokensSchema = z.int().positive().nullable().optional();

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  max_completion_tokens: maxTokensSchema,
  max_tokens: maxTokensSchema,
  reasoning_effort: z.enum(REASONING_EFFORTS).nullable().optional(),
  seed: z.int().nullable().optional(),
  response_format: responseFormatSchema.nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatMessageInput = ChatCompletionRequest['messages'][number];
export type ResponseFormat = NonNullable<ChatCompletionRequest['response_format']>;

export function parseChatCompletionRequest(
  body: unknown,
): { ok: true; request: ChatCompletionRequest } | { ok: false; problem: RequestProblem } {
  return parseRequestBody(chatCompletionRequestSchema, body);
}

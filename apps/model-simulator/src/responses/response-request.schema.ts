import { z } from 'zod';
import {
  REASONING_EFFORTS,
  type ChatCompletionRequest,
  type ResponseFormat,
} from '../chat-completion-request.schema';
import { parseRequestBody, type RequestProblem } from '../request-problem';

// The part of OpenAI's Responses API request (POST /v1/responses) the simulator implements. Unlike chat completions,
// every object is strict: a parameter the simulator does not model (tools, previous_response_id, …) is a 400 naming
// it, rather than silently ignored, so a test never believes it exercised something the simulator did not do.

// A NUL cannot be stored in Postgres text and is never meaningful in a prompt: refused where it enters.
const text = z
  .string()
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL (\\u0000) characters');

const inputTextPart = z.strictObject({ type: z.literal('input_text'), text });
// An assistant turn sent back as input carries the output_text parts it was answered with.
const outputTextPart = z.strictObject({
  type: z.literal('output_text'),
  text,
  annotations: z.array(z.unknown()).max(0).optional(),
  logprobs: z.array(z.unknown()).optional(),
});

const messageItem = z.strictObject({
  type: z.literal('message').optional(),
  id: text.optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
  role: z.enum(['user', 'system', 'developer', 'assistant']),
  content: z.union([text, z.array(z.discriminatedUnion('type', [inputTextPart, outputTextPart])).min(1)]),
});

// Reasoning items of an earlier response, sent back for a follow-up turn; accepted and not read.
const reasoningItem = z.strictObject({
  type: z.literal('reasoning'),
  id: text.optional(),
  summary: z.array(z.strictObject({ type: z.literal('summary_text'), text })),
  encrypted_content: text.nullable().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

const textFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    name: text.min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullable().optional(),
    description: text.optional(),
  }),
]);

export const REASONING_SUMMARIES = ['auto', 'concise', 'detailed'] as const;
export type ReasoningSummary = (typeof REASONING_SUMMARIES)[number];

// 'auto' is served at the default tier; priority and scale tiers are not simulated.
export const REQUESTED_SERVICE_TIERS = ['auto', 'default', 'flex'] as const;

// OpenAI's floor for max_output_tokens.
export const MIN_MAX_OUTPUT_TOKENS = 16;

export const responseRequestSchema = z.strictObject({
  model: text.min(1),
  input: z.union([text, z.array(z.union([messageItem, reasoningItem])).min(1)]),
  instructions: text.nullable().optional(),
  background: z.boolean().nullable().optional(),
  store: z.boolean().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  include: z
    .array(z.enum(['reasoning.encrypted_content']))
    .nullable()
    .optional(),
  max_output_tokens: z.int().min(MIN_MAX_OUTPUT_TOKENS).nullable().optional(),
  reasoning: z
    .strictObject({
      effort: z.enum(REASONING_EFFORTS).nullable().optional(),
      summary: z.enum(REASONING_SUMMARIES).nullable().optional(),
    })
    .nullable()
    .optional(),
  service_tier: z.enum(REQUESTED_SERVICE_TIERS).nullable().optional(),
  text: z
    .strictObject({
      format: textFormat.optional(),
      verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
    })
    .optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  truncation: z.enum(['auto', 'disabled']).nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  metadata: z
    .record(text.max(64), text.max(512))
    .refine((m) => Object.keys(m).length <= 16, 'must have at most 16 keys')
    .nullable()
    .optional(),
  user: text.max(256).optional(),
  safety_identifier: text.max(128).nullable().optional(),
  prompt_cache_key: text.max(1_024).nullable().optional(),
});
export type ResponseRequest = z.infer<typeof responseRequestSchema>;

export function parseResponseRequest(
  body: unknown,
): { ok: true; request: ResponseRequest } | { ok: false; problem: RequestProblem } {
  const parsed = parseRequestBody(responseRequestSchema, body);
  if (!parsed.ok) return parsed;
  const request = parsed.request;
  // Rules across fields, in the order OpenAI checks them.
  if (request.stream === true) {
    return fail('streaming is not supported by the simulator', 'stream', 'unsupported_value');
  }
  if (request.background === true && request.store === false) {
    return fail(
      'Background mode requires the response to be stored: background=true cannot be used with store=false.',
      'background',
      'invalid_value',
    );
  }
  if (typeof request.input !== 'string' && !request.input.some((item) => item.type !== 'reasoning')) {
    return fail("Invalid 'input': expected at least one message.", 'input', 'invalid_value');
  }
  return parsed;
}

function fail(message: string, param: string, code: string): { ok: false; problem: RequestProblem } {
  return { ok: false, problem: { message, param, code } };
}

function responseFormatOf(request: ResponseRequest): ResponseFormat | undefined {
  const format = request.text?.format;
  if (!format || format.type !== 'json_schema') return format;
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name,
      schema: format.schema,
      ...(format.strict !== undefined && { strict: format.strict }),
      ...(format.description !== undefined && { description: format.description }),
    },
  };
}

// The same call as a chat completion, so both APIs run one simulation: same tokens, answer, timing and faults.
export function asChatCompletionRequest(request: ResponseRequest): ChatCompletionRequest {
  const messages: ChatCompletionRequest['messages'] = [];
  if (request.instructions) messages.push({ role: 'developer', content: request.instructions });
  if (typeof request.input === 'string') {
    messages.push({ role: 'user', content: request.input });
  } else {
    for (const item of request.input) {
      if (item.type === 'reasoning') continue;
      const content =
        typeof item.content === 'string' ? item.content : item.content.map((part) => part.text).join('\n');
      messages.push({ role: item.role, content });
    }
  }
  const format = responseFormatOf(request);
  return {
    model: request.model,
    messages,
    ...(request.max_output_tokens != null && { max_completion_tokens: request.max_output_tokens }),
    ...(request.reasoning?.effort != null && { reasoning_effort: request.reasoning.effort }),
    ...(format !== undefined && { response_format: format }),
  };
}

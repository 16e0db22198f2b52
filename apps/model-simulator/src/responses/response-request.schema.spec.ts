import { asChatCompletionRequest, parseResponseRequest } from './response-request.schema';

function problem(body: unknown) {
  const parsed = parseResponseRequest(body);
  if (parsed.ok) throw new Error('expected a problem');
  return parsed.problem;
}

const base = { model: 'sim-reasoner', input: 'Why is the sky blue?' };

describe('parseResponseRequest', () => {
  it('accepts what the SDK sends for a reasoning call in background mode', () => {
    const parsed = parseResponseRequest({
      ...base,
      input: [
        { role: 'developer', content: 'Be careful.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Why?' }] },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'sim_enc_x' },
      ],
      instructions: 'Answer briefly.',
      background: true,
      include: ['reasoning.encrypted_content'],
      max_output_tokens: 2_000,
      reasoning: { effort: 'high', summary: 'auto' },
      service_tier: 'flex',
      text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' }, strict: true } },
      metadata: { tenant: 'acme' },
      temperature: 1,
    });
    expect(parsed.ok).toBe(true);
  });

  it.each([
    ['an unknown parameter', { ...base, tools_please: true }, 'tools_please', 'unknown_parameter'],
    [
      'an unknown nested parameter',
      { ...base, reasoning: { effort: 'low', depth: 3 } },
      'reasoning.depth',
      'unknown_parameter',
    ],
    ['a missing input', { model: 'sim-fast' }, 'input', 'missing_required_parameter'],
    ['a model of the wrong type', { ...base, model: 42 }, 'model', 'invalid_type'],
    ['a NUL in the input', { ...base, input: 'a\u0000b' }, 'input', 'invalid_value'],
    [
      'a NUL deep in a message',
      { ...base, input: [{ role: 'user', content: [{ type: 'input_text', text: '\u0000' }] }] },
      'input[0].content[0].text',
      'invalid_value',
    ],
    ['a NUL in the model', { ...base, model: 'sim-fast\u0000' }, 'model', 'invalid_value'],
    ['a fractional token limit', { ...base, max_output_tokens: 10.5 }, 'max_output_tokens', 'invalid_type'],
    ['a token limit below 16', { ...base, max_output_tokens: 15 }, 'max_output_tokens', 'invalid_value'],
    ['a huge token limit', { ...base, max_output_tokens: 1e300 }, 'max_output_tokens', 'invalid_value'],
    ['a string token limit', { ...base, max_output_tokens: '100' }, 'max_output_tokens', 'invalid_type'],
    ['an unknown effort', { ...base, reasoning: { effort: 'extreme' } }, 'reasoning.effort', 'invalid_value'],
    ['an unsimulated tier', { ...base, service_tier: 'priority' }, 'service_tier', 'invalid_value'],
    ['an unknown include', { ...base, include: ['file_search_call.results'] }, 'include[0]', 'invalid_value'],
    ['background as a string', { ...base, background: 'yes' }, 'background', 'invalid_type'],
    ['an empty input list', { ...base, input: [] }, 'input', 'empty_array'],
    [
      'an unknown role',
      { ...base, input: [{ role: 'wizard', content: 'x' }] },
      'input[0].role',
      'invalid_value',
    ],
    [
      'a metadata value over 512 characters',
      { ...base, metadata: { k: 'v'.repeat(513) } },
      'metadata.k',
      'invalid_value',
    ],
    ['streaming', { ...base, stream: true }, 'stream', 'unsupported_value'],
    [
      'background without storage',
      { ...base, background: true, store: false },
      'background',
      'invalid_value',
    ],
    [
      'only reasoning items',
      { ...base, input: [{ type: 'reasoning', summary: [] }] },
      'input',
      'invalid_value',
    ],
  ])('refuses %s with a 400 naming it', (_, body, param, code) => {
    expect(problem(body)).toMatchObject({ param, code });
  });

  it('says which argument it does not know, in OpenAI’s words', () => {
    expect(problem({ ...base, previous_response_id: 'resp_1' })).toEqual({
      message: 'Unrecognized request argument supplied: previous_response_id',
      param: 'previous_response_id',
      code: 'unknown_parameter',
    });
  });

  it('refuses a body that is not an object', () => {
    expect(problem([base])).toMatchObject({ code: 'invalid_request_body', param: null });
  });
});

describe('asChatCompletionRequest', () => {
  it('runs the same simulation as the chat call with the same messages', () => {
    const parsed = parseResponseRequest({
      model: 'sim-reasoner',
      instructions: 'Be brief.',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'a' },
            { type: 'input_text', text: 'b' },
          ],
        },
        { type: 'reasoning', summary: [] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'c' }] },
      ],
      max_output_tokens: 100,
      reasoning: { effort: 'low', summary: 'detailed' },
      text: { format: { type: 'json_schema', name: 'n', schema: { type: 'object' } } },
    });
    if (!parsed.ok) throw new Error(parsed.problem.message);
    expect(asChatCompletionRequest(parsed.request)).toEqual({
      model: 'sim-reasoner',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: 'a\nb' },
        { role: 'assistant', content: 'c' },
      ],
      max_completion_tokens: 100,
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'object' } } },
    });
  });

  it('takes a string input as one user message', () => {
    const parsed = parseResponseRequest(base);
    if (!parsed.ok) throw new Error(parsed.problem.message);
    expect(asChatCompletionRequest(parsed.request).messages).toEqual([
      { role: 'user', content: 'Why is the sky blue?' },
    ]);
  });
});

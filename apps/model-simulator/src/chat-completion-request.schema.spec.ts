import { parseChatCompletionRequest } from './chat-completion-request.schema';

function problem(body: unknown) {
  const parsed = parseChatCompletionRequest(body);
  if (parsed.ok) throw new Error('expected a problem');
  return parsed.problem;
}

describe('parseChatCompletionRequest', () => {
  it('accepts the fields the SDK sends and passes unknown ones through', () => {
    const parsed = parseChatCompletionRequest({
      model: 'sim-fast',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }], name: 'u1' }],
      max_completion_tokens: 10,
      reasoning_effort: 'low',
      seed: 1,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {}, strict: true } },
      temperature: 0.2,
      stream: false,
      user: 'u',
      metadata: { a: 'b' },
      top_p: 1,
    });
    expect(parsed.ok).toBe(true);
  });

  it.each([
    [{ messages: [] }, "Missing required parameter: 'model'.", 'model'],
    [{ model: 'm', messages: [] }, "Invalid 'messages': empty array.", 'messages'],
    [
      { model: 'm', messages: [{ role: 'user' }] },
      "Invalid 'messages[0].content': is required for role 'user'.",
      'messages[0].content',
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 'ten' },
      "Invalid type for 'max_completion_tokens': expected a number, but got a string instead.",
      'max_completion_tokens',
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 1.5 },
      "Invalid type for 'max_tokens': expected an integer",
      'max_tokens',
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'max' },
      "Invalid value for 'reasoning_effort': \"max\". Supported values are: 'minimal', 'low', 'medium', 'high'.",
      'reasoning_effort',
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'xml' } },
      'Invalid value for \'response_format.type\': "xml".',
      'response_format.type',
    ],
    [
      {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: {} },
      },
      "Missing required parameter: 'response_format.json_schema.name'.",
      'response_format.json_schema.name',
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      "Missing required parameter: 'messages[0].content[0].text'.",
      'messages[0].content[0].text',
    ],
  ])('%j', (body, message, param) => {
    const p = problem(body);
    expect(p.message).toContain(message);
    expect(p.param).toBe(param);
  });

  it('rejects a body that is not an object', () => {
    expect(problem([1, 2]).message).toBe('The request body must be a JSON object.');
  });
});

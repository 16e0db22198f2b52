import { responsesBody, responsesFormatOf } from './model-client';

describe('responsesBody', () => {
  const messages = [
    { role: 'system' as const, content: 'Be careful.' },
    { role: 'user' as const, content: 'Why?' },
  ];

  it('sends only what the call sets', () => {
    expect(responsesBody('sim-fast', { messages }, false)).toEqual({
      model: 'sim-fast',
      input: [
        { role: 'system', content: 'Be careful.' },
        { role: 'user', content: 'Why?' },
      ],
    });
  });

  it('asks for summaries whenever it sets an effort, so they reach the trace', () => {
    expect(
      responsesBody(
        'sim-reasoner',
        {
          messages,
          maxCompletionTokens: 2_000,
          reasoningEffort: 'high',
          serviceTier: 'flex',
          includeEncryptedReasoning: true,
          temperature: 1,
          seed: 7,
        },
        true,
      ),
    ).toEqual({
      model: 'sim-reasoner',
      input: expect.any(Array) as unknown,
      max_output_tokens: 2_000,
      reasoning: { effort: 'high', summary: 'auto' },
      temperature: 1,
      service_tier: 'flex',
      include: ['reasoning.encrypted_content'],
      background: true,
    });
    expect(
      responsesBody('sim-reasoner', { messages, reasoningSummary: 'detailed' }, false).reasoning,
    ).toEqual({ summary: 'detailed' });
  });
});

describe('responsesFormatOf', () => {
  it('flattens a JSON schema format and passes the others through', () => {
    expect(
      responsesFormatOf({
        type: 'json_schema',
        json_schema: { name: 'triage', strict: true, schema: { type: 'object' } },
      }),
    ).toEqual({ type: 'json_schema', name: 'triage', strict: true, schema: { type: 'object' } });
    expect(responsesFormatOf({ type: 'json_schema', json_schema: { name: 'any' } })).toEqual({
      type: 'json_schema',
      name: 'any',
      schema: {},
    });
    expect(responsesFormatOf({ type: 'json_object' })).toEqual({ type: 'json_object' });
  });
});

import { simulateCompletion } from '../completion-simulator';
import { parseDirectives } from '../prompt-directives';
import { SIMULATOR_MODELS } from '../simulator-models';
import { asChatCompletionRequest, parseResponseRequest } from './response-request.schema';
import {
  encryptedReasoning,
  plannedUsage,
  responseBody,
  usedUsage,
  type ResponsePlan,
} from './response-body';

const reasoner = SIMULATOR_MODELS.find((m) => m.id === 'sim-reasoner')!;

function plan(body: Record<string, unknown>): ResponsePlan {
  const parsed = parseResponseRequest({ model: 'sim-reasoner', ...body });
  if (!parsed.ok) throw new Error(parsed.problem.message);
  const chat = asChatCompletionRequest(parsed.request);
  const texts = chat.messages.map((m) => (typeof m.content === 'string' ? m.content : ''));
  return {
    id: 'resp_abc',
    createdAtMs: 1_767_225_600_000,
    modelId: 'sim-reasoner',
    reasoningModel: true,
    request: parsed.request,
    serviceTier: 'default',
    background: false,
    completion: simulateCompletion({
      request: chat,
      model: reasoner,
      directives: parseDirectives(texts),
      texts,
      runaway: false,
    }),
  };
}

describe('responseBody', () => {
  it('gives a completed response its reasoning summary, encrypted item and message', () => {
    const p = plan({
      input: 'Plan a trip. [[sim:reasoning_tokens=300]]',
      reasoning: { effort: 'low', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
    });
    const body = responseBody(p, 'completed', plannedUsage(p.completion), 1_767_225_601_000);
    expect(body).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      status: 'completed',
      completed_at: 1_767_225_601,
      incomplete_details: null,
      reasoning: { effort: 'low', summary: 'auto' },
      usage: { output_tokens_details: { reasoning_tokens: 300 } },
    });
    const [reasoning, message] = body.output;
    expect(reasoning).toEqual({
      id: 'rs_abc',
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: p.completion.thoughts }],
      encrypted_content: encryptedReasoning('sim-reasoner', p.completion.thoughts!, 300),
    });
    expect(message).toMatchObject({ type: 'message', status: 'completed', role: 'assistant' });
  });

  it('sends no summary text unless asked, and nothing of the output before the end', () => {
    const p = plan({ input: 'Plan a trip.' });
    const done = responseBody(p, 'completed', plannedUsage(p.completion));
    expect(done.output[0]).toEqual({ id: 'rs_abc', type: 'reasoning', summary: [] });
    const running = responseBody(p, 'in_progress', null);
    expect(running).toMatchObject({ status: 'in_progress', output: [], usage: null, completed_at: null });
  });

  it('ends incomplete with no message when reasoning spends the whole budget', () => {
    const p = plan({ input: 'Prove it.', max_output_tokens: 40, reasoning: { summary: 'concise' } });
    const body = responseBody(p, 'incomplete', plannedUsage(p.completion));
    expect(body.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(body.output.map((item) => item.type)).toEqual(['reasoning']);
    expect(body.usage).toMatchObject({ output_tokens: 40, output_tokens_details: { reasoning_tokens: 40 } });
  });
});

describe('usedUsage', () => {
  const planned = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 1_000, reasoningTokens: 800 };

  it('bills all the input and the output in proportion to the time run, reasoning first', () => {
    expect(usedUsage(planned, 0.5)).toEqual({ ...planned, outputTokens: 500, reasoningTokens: 500 });
    expect(usedUsage(planned, 0.9)).toEqual({ ...planned, outputTokens: 900, reasoningTokens: 800 });
  });

  it('clamps the fraction to what was planned', () => {
    expect(usedUsage(planned, -1).outputTokens).toBe(0);
    expect(usedUsage(planned, 7)).toEqual(planned);
  });
});

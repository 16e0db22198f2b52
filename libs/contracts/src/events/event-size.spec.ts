import { modelCallRecordedEvent, recordPrompt } from './model-call-recorded.event';
import { reasoningTraceRecordedEvent } from './reasoning-trace-recorded.event';
import {
  cutToFit,
  DEFAULT_KAFKA_MAX_MESSAGE_BYTES,
  maxTaskBodyBytes,
  TASK_EVENT_HEADROOM_BYTES,
} from './event-size';

describe('maxTaskBodyBytes', () => {
  it('leaves the envelope headroom below the Kafka message limit', () => {
    expect(maxTaskBodyBytes(DEFAULT_KAFKA_MAX_MESSAGE_BYTES)).toBe(1_000_000 - TASK_EVENT_HEADROOM_BYTES);
    expect(maxTaskBodyBytes(10_000_000)).toBe(10_000_000 - TASK_EVENT_HEADROOM_BYTES);
  });

  it('is never negative for a tiny limit', () => {
    expect(maxTaskBodyBytes(1_000)).toBe(0);
  });
});

describe('cutToFit', () => {
  const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

  it('leaves data that fits untouched', () => {
    const data = { prompt: [{ role: 'user', content: 'short' }], answer: 'a' };
    expect(cutToFit(data, ['prompt[].content', 'answer'], 1_000)).toEqual({ data, cut: 0 });
  });

  it('cuts the longest listed texts with a visible marker until the JSON fits, never other fields', () => {
    const data = {
      input: 'i'.repeat(3_000),
      prompt: [
        { role: 'system', content: 's'.repeat(500) },
        { role: 'user', content: 'é'.repeat(20_000) },
      ],
      answer: 'a'.repeat(8_000),
    };
    const { data: fitted, cut } = cutToFit(data, ['prompt[].content', 'answer'], 10_000);
    expect(bytes(fitted)).toBeLessThanOrEqual(10_000);
    expect(cut).toBeGreaterThan(0);
    expect(fitted.input).toBe(data.input);
    expect(fitted.prompt[0]!.content).toBe(data.prompt[0]!.content);
    expect(fitted.prompt[1]!.content).toMatch(/^é+\n\[cut: 20000 chars in all\]$/);
    expect(data.prompt[1]!.content).toHaveLength(20_000); // the input is not modified
  });

  it('never leaves a lone surrogate where it cuts', () => {
    const { data } = cutToFit({ answer: '😀'.repeat(5_000) }, ['answer'], 2_001);
    expect(data.answer).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(bytes(data)).toBeLessThanOrEqual(2_001);
  });

  it('gives back what still does not fit when nothing listed can be cut further', () => {
    const data = { input: 'i'.repeat(5_000), answer: 'a'.repeat(5_000) };
    const { data: fitted } = cutToFit(data, ['answer'], 1_000);
    expect(bytes(fitted)).toBeGreaterThan(1_000);
    expect(fitted.input).toBe(data.input);
  });
});

describe('the growable events of the catalogue', () => {
  const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 };

  it('a model call with a huge prompt fits the default limit once cut, and stays valid', () => {
    const data = modelCallRecordedEvent.schema.parse({
      callId: 'c1',
      tier: 'fast',
      model: 'm',
      purpose: 'classify',
      usage,
      latencyMs: 1,
      outcome: 'ok',
      finishReason: null,
      errorMessage: null,
      prompt: recordPrompt(
        Array.from({ length: 40 }, () => ({ role: 'user', content: 'x'.repeat(300_000) })),
      ),
    });
    const { data: fitted } = cutToFit(
      data,
      modelCallRecordedEvent.cuttableTexts!,
      DEFAULT_KAFKA_MAX_MESSAGE_BYTES,
    );
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(DEFAULT_KAFKA_MAX_MESSAGE_BYTES);
    expect(modelCallRecordedEvent.schema.safeParse(fitted).success).toBe(true);
  });

  it('a reasoning trace with a huge prompt, trace and answer fits once cut, and stays valid', () => {
    const data = reasoningTraceRecordedEvent.schema.parse({
      executionId: '0190f5f0-0000-7000-8000-000000000001',
      attempt: 1,
      tier: 'reasoning',
      model: 'm',
      prompt: [{ role: 'user', content: 'p'.repeat(900_000) }],
      contextSelection: null,
      trace: 't'.repeat(2_000_000),
      providerReasoning: 'r'.repeat(500_000),
      answer: 'a'.repeat(400_000),
      parse: 'tagged',
      finishReason: 'stop',
      usage,
      outcome: 'answered',
      recordedAt: '2026-01-01T00:00:00.000Z',
    });
    const { data: fitted } = cutToFit(
      data,
      reasoningTraceRecordedEvent.cuttableTexts!,
      DEFAULT_KAFKA_MAX_MESSAGE_BYTES,
    );
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(DEFAULT_KAFKA_MAX_MESSAGE_BYTES);
    expect(fitted.trace).toContain('[cut: 2000000 chars in all]');
    expect(reasoningTraceRecordedEvent.schema.safeParse(fitted).success).toBe(true);
  });
});

import type { AuditRecordView } from '@deliberate/contracts';
import {
  attemptSteps,
  callCosts,
  type TimelineStep,
  timelineStep,
  timelineSteps,
  totalUsage,
} from './timeline-steps';

let seq = 0;
const record = (type: string, data: unknown): AuditRecordView => ({
  tenantId: 'acme',
  seq: ++seq,
  eventId: `e${seq}`,
  type,
  source: 'deliberate/test',
  taskId: 't',
  occurredAt: '2026-12-01T10:00:00.000Z',
  recordedAt: '2026-12-01T10:00:00.100Z',
  route: null,
  model: null,
  status: null,
  decision: null,
  data,
  prevHash: '',
  contentHash: '',
  recordHash: '',
});
const usage = { inputTokens: 120, cachedInputTokens: 20, outputTokens: 300, reasoningTokens: 250 };

describe('timelineStep', () => {
  it('says how the triage decided and why', () => {
    const step = timelineStep(
      record('tasks.task.triaged.v1', {
        decision: {
          route: 'reasoning',
          decidedBy: 'rule',
          rule: 'explicit-mode',
          classification: null,
          reason: 'asked for',
        },
      }),
    );
    expect(step).toMatchObject({
      title: 'Triage decision',
      summary: 'route reasoning, decided by rule (rule explicit-mode)',
    });
    expect(step.details).toEqual([{ kind: 'text', label: 'Reason', text: 'asked for' }]);
  });

  it('shows a reasoning attempt with its trace, answer and tokens', () => {
    const step = timelineStep(
      record('reasoning.trace.recorded.v1', {
        attempt: 1,
        model: 'sim-reasoning',
        outcome: 'limit_hit',
        parse: 'truncated',
        trace: 'First, the income…',
        providerReasoning: null,
        answer: null,
        usage,
        prompt: [{ role: 'user', content: 'Decide' }],
        contextSelection: null,
      }),
    );
    expect(step).toMatchObject({
      title: 'Reasoning attempt 1: sim-reasoning',
      summary: 'limit_hit, output truncated',
      tone: 'warn',
    });
    expect(step.details.map((d) => d.kind)).toEqual(['usage', 'text', 'messages']);
    expect(step.details[1]).toEqual({ kind: 'text', label: 'Reasoning trace', text: 'First, the income…' });
  });

  it('names a human answer and its reviewer, and a webhook attempt with its status', () => {
    expect(
      timelineStep(
        record('tasks.task.completed.v1', {
          result: { answer: 'Approve.', answeredBy: 'human', model: null, usage: null, latencyMs: 5 },
          review: { reviewerKeyId: 'key-1' },
        }),
      ),
    ).toMatchObject({ title: 'Answered by a person', summary: 'by human, reviewer key key-1' });
    expect(
      timelineStep(
        record('webhooks.delivery.attempted.v1', {
          attempt: 2,
          eventType: 'task.completed',
          outcome: 'failed',
          httpStatus: 500,
          url: 'https://example.test/hook',
          error: 'HTTP 500',
          responseSnippet: '',
        }),
      ),
    ).toMatchObject({ summary: 'failed (HTTP 500) to https://example.test/hook', tone: 'bad' });
  });

  it('keeps an unknown record, by its type', () => {
    expect(timelineStep(record('something.new.v1', 'x'))).toMatchObject({ title: 'something.new.v1' });
  });
});

describe('totalUsage', () => {
  it('sums the model calls once each', () => {
    const total = totalUsage([
      record('usage.model-call.recorded.v1', { usage, latencyMs: 100 }),
      record('usage.model-call.recorded.v1', { usage, latencyMs: 50 }),
      record('reasoning.trace.recorded.v1', { usage }),
    ]);
    expect(total).toEqual({
      ...usage,
      inputTokens: 240,
      cachedInputTokens: 40,
      outputTokens: 600,
      reasoningTokens: 500,
      calls: 2,
      latencyMs: 150,
    });
  });
});

describe('timelineStep and service tiers', () => {
  it('names the service tier a reasoning call asked for, and why', () => {
    const step = timelineStep(
      record('tasks.task.reasoning-started.v1', {
        model: 'sim-reasoner',
        serviceTier: 'default',
        serviceTierReason:
          "latency budget 900 s reaches the policy's 600 s rule: flex; but attempt 1 was refused flex",
      }),
    );
    expect(step.summary).toBe('sim-reasoner, default service tier');
    expect(step.details).toEqual([
      {
        kind: 'text',
        label: 'Service tier',
        text: "latency budget 900 s reaches the policy's 600 s rule: flex; but attempt 1 was refused flex",
      },
    ]);
  });

  it('says at which tier a call was served, and says nothing for a call recorded without one', () => {
    const call = (serviceTier: string | null) =>
      timelineStep(
        record('usage.model-call.recorded.v1', {
          model: 'sim-reasoner',
          tier: 'reasoning',
          purpose: 'reason',
          outcome: 'ok',
          usage,
          latencyMs: 10,
          serviceTier,
        }),
      ).summary;
    expect(call('flex')).toBe('reason on the reasoning tier (served at flex), ok');
    expect(call(null)).toBe('reason on the reasoning tier, ok');
  });
});

describe('timelineSteps', () => {
  const call = (callId: string, outcome: string, u = usage) =>
    record('usage.model-call.recorded.v1', {
      callId,
      model: 'sim-fast',
      tier: 'fast',
      purpose: 'classify',
      outcome,
      usage: u,
      latencyMs: 40,
      errorMessage: null,
    });
  const booked = (step: TimelineStep) => {
    const detail = step.details.find((d) => d.kind === 'usage');
    return detail?.kind === 'usage' ? [detail.bookedMicroUsd, detail.bookedNote] : 'no usage';
  };

  it("puts each call's booking on its own step, matched by call id", () => {
    const steps = timelineSteps(
      [
        record('tasks.task.accepted.v1', { spec: { mode: 'auto' } }),
        call('c-1', 'ok'),
        call('c-2', 'length'),
      ],
      callCosts([
        { key: 'c-2', costMicroUsd: 900 },
        { key: 'c-1', costMicroUsd: 450 },
      ]),
    );
    expect(steps.map(booked)).toEqual(['no usage', [450, null], [900, null]]);
  });

  it('shows no cost when the spend is unknown, or the call is not booked (yet)', () => {
    expect(timelineSteps([call('c-1', 'ok')], null).map(booked)).toEqual([[null, null]]);
    expect(
      timelineSteps([call('c-1', 'ok')], callCosts([{ key: 'unattributed', costMicroUsd: 7 }])).map(booked),
    ).toEqual([[null, null]]);
  });

  it("shows what the ledger booked for an aborted call, saying it is the hold's worst case", () => {
    const zero = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 };
    const [step] = timelineSteps(
      [call('c-1', 'aborted', zero)],
      callCosts([{ key: 'c-1', costMicroUsd: 20_000 }]),
    );
    expect(booked(step!)).toEqual([20_000, expect.stringContaining("booked at its hold's worst case")]);
  });

  it('books a call recorded twice (an abort, then its real usage) once, on its last record', () => {
    const zero = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 };
    const steps = timelineSteps(
      [call('c-1', 'aborted', zero), call('c-1', 'ok')],
      callCosts([{ key: 'c-1', costMicroUsd: 450 }]),
    );
    expect(steps.map(booked)).toEqual([
      [null, null],
      [450, null],
    ]);
  });

  it('gives a reasoning attempt no booking of its own: its call has one', () => {
    const steps = timelineSteps(
      [record('reasoning.trace.recorded.v1', { attempt: 1, model: 'm', usage, callId: 'c-1' })],
      callCosts([{ key: 'c-1', costMicroUsd: 450 }]),
    );
    expect(steps.map(booked)).toEqual([[null, null]]);
  });
});

describe('attemptSteps', () => {
  it("keeps a task's model calls and reasoning attempts, with their errors and traces, and nothing else", () => {
    const steps = attemptSteps([
      record('tasks.task.accepted.v1', { spec: { mode: 'reasoning', input: 'Decide.' } }),
      record('usage.model-call.recorded.v1', {
        model: 'sim-reasoner',
        tier: 'reasoning',
        purpose: 'reasoning',
        outcome: 'length',
        usage,
        latencyMs: 900,
        errorMessage: 'thought past its cap',
      }),
      record('reasoning.trace.recorded.v1', {
        attempt: 1,
        model: 'sim-reasoner',
        outcome: 'limit_hit',
        parse: 'truncated',
        usage,
        trace: 'Income first, then the instalments.',
      }),
      record('tasks.task.escalated.v1', { reason: 'limit_hit', attempts: ['reasoning'] }),
    ]);
    expect(steps.map((s) => s.title)).toEqual([
      'Model call: sim-reasoner',
      'Reasoning attempt 1: sim-reasoner',
    ]);
    expect(steps[0]!.details).toContainEqual({ kind: 'text', label: 'Error', text: 'thought past its cap' });
    expect(steps[1]!.summary).toBe('limit_hit, output truncated');
    // No cost is claimed for an attempt here (the review view has no ledger figures), whatever its position.
    for (const step of steps) {
      const usageDetail = step.details.find((d) => d.kind === 'usage');
      expect(usageDetail?.kind === 'usage' ? usageDetail.bookedMicroUsd : 'no usage').toBeNull();
    }
    expect(steps[1]!.details).toContainEqual({
      kind: 'text',
      label: 'Reasoning trace',
      text: 'Income first, then the instalments.',
    });
  });

  it('finds no attempt in a task no model was called for', () => {
    expect(attemptSteps([record('tasks.task.accepted.v1', {})])).toEqual([]);
  });
});

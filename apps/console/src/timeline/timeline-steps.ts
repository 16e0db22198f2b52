import type { AuditRecordView } from '@deliberate/contracts';

// Turns a task's audit records into the steps of its timeline: what happened, in words, with the figures that
// matter for each kind (tokens, latency and booked cost of a model call, the trace of a reasoning attempt, a
// webhook's status).

export interface Usage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

export type StepDetail =
  | { kind: 'text'; label: string; text: string }
  | {
      kind: 'usage';
      usage: Usage;
      latencyMs: number | null;
      /** What the ledger booked for the call (a model call's step only); null when not known. */
      bookedMicroUsd: number | null;
      /** Why the booking is not what the tokens cost, when it is not. */
      bookedNote: string | null;
    }
  | { kind: 'context'; documents: { title: string; kept: boolean; score: number; reason: string }[] }
  | { kind: 'messages'; messages: { role: string; content: string }[] };

export interface TimelineStep {
  seq: number;
  at: string;
  title: string;
  summary: string;
  tone: 'info' | 'good' | 'warn' | 'bad';
  details: StepDetail[];
}

type Data = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const obj = (v: unknown): Data =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Data) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function usageOf(v: unknown): Usage | null {
  const u = obj(v);
  const input = num(u['inputTokens']);
  const output = num(u['outputTokens']);
  if (input === null || output === null) return null;
  return {
    inputTokens: input,
    cachedInputTokens: num(u['cachedInputTokens']) ?? 0,
    outputTokens: output,
    reasoningTokens: num(u['reasoningTokens']) ?? 0,
  };
}

function text(label: string, value: unknown): StepDetail[] {
  const t = str(value);
  return t ? [{ kind: 'text', label, text: t }] : [];
}

function messages(value: unknown): StepDetail[] {
  const list = arr(value).map((m) => ({
    role: str(obj(m)['role']) ?? '?',
    content: str(obj(m)['content']) ?? '',
  }));
  return list.length ? [{ kind: 'messages', messages: list }] : [];
}

function contextSelection(value: unknown): StepDetail[] {
  const documents = arr(value).map((d) => {
    const doc = obj(d);
    return {
      title: str(doc['title']) ?? str(doc['id']) ?? `document ${num(doc['index']) ?? '?'}`,
      kept: doc['kept'] === true,
      score: num(doc['score']) ?? 0,
      reason: str(doc['reason']) ?? '',
    };
  });
  return documents.length ? [{ kind: 'context', documents }] : [];
}

function usageDetail(
  data: Data,
  latencyMs: number | null,
  booked: { bookedMicroUsd: number | null; bookedNote: string | null } = {
    bookedMicroUsd: null,
    bookedNote: null,
  },
): StepDetail[] {
  const usage = usageOf(data['usage']);
  return usage ? [{ kind: 'usage', usage, latencyMs, ...booked }] : [];
}

/** What the ledger booked for each of a task's model calls, by call id: the rows of its spend grouped by call. */
export type CallCosts = ReadonlyMap<string, number>;

export function callCosts(rows: readonly { key: string; costMicroUsd: number }[]): CallCosts {
  return new Map(rows.map((r) => [r.key, r.costMicroUsd]));
}

// A cut-off call the provider reported nothing for is booked at its reservation's worst case: the provider may bill it.
function bookedFor(data: Data, booked: number | null) {
  const blindAbort = data['outcome'] === 'aborted' && booked !== null && booked > 0;
  return {
    bookedMicroUsd: booked,
    bookedNote: blindAbort
      ? "cut off before its usage was known: booked at its hold's worst case, which may be more than the bill"
      : null,
  };
}

/**
 * The steps of a timeline, each model call with what the ledger booked for it when `costs` is known. A call
 * recorded twice (an abort, then its real usage) shows its booking once, on its last record.
 */
export function timelineSteps(records: readonly AuditRecordView[], costs: CallCosts | null): TimelineStep[] {
  const lastOfCall = new Map<string, number>();
  records.forEach((r, i) => {
    const callId = r.type === 'usage.model-call.recorded.v1' ? str(obj(r.data)['callId']) : null;
    if (callId) lastOfCall.set(callId, i);
  });
  return records.map((r, i) => {
    const callId = r.type === 'usage.model-call.recorded.v1' ? str(obj(r.data)['callId']) : null;
    const booked = costs && callId && lastOfCall.get(callId) === i ? (costs.get(callId) ?? null) : null;
    return timelineStep(r, booked);
  });
}

/** One record as a step; `bookedMicroUsd` is what the ledger booked for it, when it is a model call. */
export function timelineStep(record: AuditRecordView, bookedMicroUsd: number | null = null): TimelineStep {
  const data = obj(record.data);
  const base = { seq: record.seq, at: record.occurredAt, details: [] as StepDetail[] };
  switch (record.type) {
    case 'tasks.task.submitted.v1':
    case 'tasks.task.accepted.v1': {
      const spec = obj(data['spec'] ?? data);
      return {
        ...base,
        title: record.type === 'tasks.task.submitted.v1' ? 'Submitted' : 'Accepted',
        summary: `mode ${str(spec['mode']) ?? '?'}`,
        tone: 'info',
        details: [...text('Input', spec['input'])],
      };
    }
    case 'tasks.task.triaged.v1': {
      const decision = obj(data['decision']);
      const classification = obj(decision['classification']);
      return {
        ...base,
        title: 'Triage decision',
        summary: `route ${str(decision['route']) ?? '?'}, decided by ${str(decision['decidedBy']) ?? '?'}${
          str(decision['rule']) ? ` (rule ${str(decision['rule'])})` : ''
        }`,
        tone: 'info',
        details: [...text('Reason', decision['reason']), ...text('Classification', classification['reason'])],
      };
    }
    case 'reasoning.task.requested.v1':
      return {
        ...base,
        title: 'Sent to the reasoning tier',
        summary: data['contextSelection'] ? 'context documents selected' : 'all context kept',
        tone: 'info',
        details: contextSelection(data['contextSelection']),
      };
    case 'tasks.task.reasoning-started.v1': {
      const serviceTier = str(data['serviceTier']);
      return {
        ...base,
        title: 'Reasoning started',
        summary: `${str(data['model']) ?? ''}${serviceTier ? `, ${serviceTier} service tier` : ''}`,
        tone: 'info',
        details: text('Service tier', data['serviceTierReason']),
      };
    }
    case 'usage.model-call.recorded.v1': {
      const outcome = str(data['outcome']) ?? '?';
      return {
        ...base,
        title: `Model call: ${str(data['model']) ?? '?'}`,
        summary: `${str(data['purpose']) ?? 'call'} on the ${str(data['tier']) ?? '?'} tier${
          str(data['serviceTier']) ? ` (served at ${str(data['serviceTier'])})` : ''
        }, ${outcome}`,
        tone: outcome === 'ok' ? 'good' : outcome === 'length' ? 'warn' : 'bad',
        details: [
          ...usageDetail(data, num(data['latencyMs']), bookedFor(data, bookedMicroUsd)),
          ...text('Error', data['errorMessage']),
        ],
      };
    }
    case 'reasoning.trace.recorded.v1': {
      const outcome = str(data['outcome']) ?? '?';
      return {
        ...base,
        title: `Reasoning attempt ${num(data['attempt']) ?? '?'}: ${str(data['model']) ?? '?'}`,
        summary: `${outcome}, output ${str(data['parse']) ?? '?'}`,
        tone: outcome === 'answered' ? 'good' : 'warn',
        details: [
          ...usageDetail(data, null),
          ...contextSelection(data['contextSelection']),
          ...text('Reasoning trace', data['trace']),
          ...text("Provider's reasoning", data['providerReasoning']),
          ...text('Answer', data['answer']),
          ...messages(data['prompt']),
        ],
      };
    }
    case 'tasks.task.escalated.v1':
      return {
        ...base,
        title: 'Escalated to a person',
        summary: str(data['reason']) ?? '',
        tone: 'warn',
        details: arr(data['attempts']).length
          ? [{ kind: 'text', label: 'Tried first', text: arr(data['attempts']).map(String).join(' → ') }]
          : [],
      };
    case 'tasks.task.completed.v1': {
      const result = obj(data['result']);
      const review = obj(data['review']);
      const by = str(result['answeredBy']) ?? '?';
      return {
        ...base,
        title: by === 'human' ? 'Answered by a person' : 'Answered',
        summary: `by ${by}${str(result['model']) ? ` (${str(result['model'])})` : ''}${
          str(review['reviewerKeyId']) ? `, reviewer key ${str(review['reviewerKeyId'])}` : ''
        }`,
        tone: 'good',
        details: [
          ...text('Answer', result['answer']),
          ...usageDetail(result, num(result['latencyMs'])),
          ...text('Degraded', obj(result['degraded'])['reason']),
        ],
      };
    }
    case 'tasks.task.failed.v1': {
      const error = obj(data['error']);
      return {
        ...base,
        title: 'Failed',
        summary: str(error['code']) ?? '',
        tone: 'bad',
        details: text('Error', error['message']),
      };
    }
    case 'tasks.task.cancel-requested.v1':
      return { ...base, title: 'Cancellation requested', summary: str(data['reason']) ?? '', tone: 'warn' };
    case 'tasks.task.cancelled.v1':
      return { ...base, title: 'Cancelled', summary: str(data['reason']) ?? '', tone: 'warn' };
    case 'webhooks.delivery.attempted.v1': {
      const outcome = str(data['outcome']) ?? '?';
      const status = num(data['httpStatus']);
      return {
        ...base,
        title: `Webhook attempt ${num(data['attempt']) ?? '?'}: ${str(data['eventType']) ?? ''}`,
        summary: `${outcome}${status ? ` (HTTP ${status})` : ''} to ${str(data['url']) ?? '?'}`,
        tone: outcome === 'delivered' ? 'good' : 'bad',
        details: [...text('Error', data['error']), ...text('Response', data['responseSnippet'])],
      };
    }
    case 'webhooks.message.dead-lettered.v1':
      return { ...base, title: 'Webhook dead-lettered', summary: str(data['lastError']) ?? '', tone: 'bad' };
    default:
      return { ...base, title: record.type, summary: record.decision ?? '', tone: 'info' };
  }
}

const ATTEMPT_TYPES: ReadonlySet<string> = new Set([
  'usage.model-call.recorded.v1',
  'reasoning.trace.recorded.v1',
]);

/**
 * What the models made of a task, for the reviewer who takes it over: each call (model, outcome or error, tokens)
 * and each reasoning attempt (its trace and answer), oldest first.
 */
export function attemptSteps(records: readonly AuditRecordView[]): TimelineStep[] {
  return records.filter((r) => ATTEMPT_TYPES.has(r.type)).map((r) => timelineStep(r));
}

/** The tokens a task's model calls used, summed (each call is counted once, from its usage record). */
export function totalUsage(
  records: readonly AuditRecordView[],
): Usage & { calls: number; latencyMs: number } {
  const total = {
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    calls: 0,
    latencyMs: 0,
  };
  for (const r of records) {
    if (r.type !== 'usage.model-call.recorded.v1') continue;
    const data = obj(r.data);
    const usage = usageOf(data['usage']);
    if (!usage) continue;
    total.calls += 1;
    total.inputTokens += usage.inputTokens;
    total.cachedInputTokens += usage.cachedInputTokens;
    total.outputTokens += usage.outputTokens;
    total.reasoningTokens += usage.reasoningTokens;
    total.latencyMs += num(data['latencyMs']) ?? 0;
  }
  return total;
}

import type { EventEnvelope } from '@deliberate/contracts';

/** The columns the auditor API filters on, read from an event at ingest. */
export interface RecordColumns {
  route: string | null;
  model: string | null;
  status: string | null;
  decision: string | null;
  metadata: Record<string, unknown>;
}

type Data = Record<string, unknown>;
const obj = (v: unknown): Data => (v !== null && typeof v === 'object' ? (v as Data) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

const NONE: RecordColumns = { route: null, model: null, status: null, decision: null, metadata: {} };

// Per event type: `status` is where the task stands after the event (or the outcome of a call or delivery);
// `decision` is what was decided and by whom: how the triage routed, who answered, why a task failed.
const EXTRACTORS: Record<string, (d: Data) => Partial<RecordColumns>> = {
  'tasks.task.submitted.v1': (d) => ({ status: 'submitted', metadata: obj(d['metadata']) }),
  'tasks.task.accepted.v1': (d) => ({ status: 'accepted', metadata: obj(obj(d['spec'])['metadata']) }),
  'tasks.task.triaged.v1': (d) => {
    const decision = obj(d['decision']);
    return { status: 'triaged', route: str(decision['route']), decision: str(decision['decidedBy']) };
  },
  'reasoning.task.requested.v1': (d) => {
    const decision = obj(d['decision']);
    return {
      status: 'reasoning_requested',
      route: str(decision['route']),
      decision: str(decision['decidedBy']),
      metadata: obj(obj(d['spec'])['metadata']),
    };
  },
  'tasks.task.reasoning-started.v1': (d) => ({
    status: 'reasoning',
    route: str(d['tier']),
    model: str(d['model']),
  }),
  'reasoning.trace.recorded.v1': (d) => ({
    route: str(d['tier']),
    model: str(d['model']),
    status: str(d['outcome']),
  }),
  'usage.model-call.recorded.v1': (d) => ({
    route: str(d['tier']),
    model: str(d['model']),
    status: str(d['outcome']),
    decision: str(d['purpose']),
  }),
  // A shadow evaluation's comparison: marked as such, with the candidate model and whether the answers agreed.
  'shadow.comparison.recorded.v1': (d) => {
    const shadow = obj(d['shadow']);
    const agreed = obj(d['agreement'])['agreed'];
    return {
      status: 'shadow_compared',
      route: str(d['route']),
      model: str(shadow['model']),
      decision: agreed === true ? 'agreed' : agreed === false ? 'disagreed' : str(shadow['outcome']),
    };
  },
  'tasks.task.completed.v1': (d) => {
    const result = obj(d['result']);
    return { status: 'completed', model: str(result['model']), decision: str(result['answeredBy']) };
  },
  'tasks.task.failed.v1': (d) => ({ status: 'failed', decision: str(obj(d['error'])['code']) }),
  'tasks.task.escalated.v1': () => ({ status: 'needs_human', decision: 'escalated' }),
  'tasks.task.cancel-requested.v1': () => ({ status: 'cancel_requested' }),
  'tasks.task.cancelled.v1': () => ({ status: 'cancelled' }),
  'budget.threshold.crossed.v1': (d) => ({ status: 'threshold_crossed', decision: str(d['scope']) }),
  'budget.breaker.opened.v1': (d) => ({ status: 'breaker_open', decision: str(d['reason']) }),
  'budget.breaker.closed.v1': () => ({ status: 'breaker_closed' }),
  'webhooks.delivery.attempted.v1': (d) => ({ status: str(d['outcome']), decision: str(d['eventType']) }),
  'webhooks.message.dead-lettered.v1': (d) => ({ status: 'dead_lettered', decision: str(d['eventType']) }),
  'webhooks.endpoint.disabled.v1': (d) => ({ status: 'endpoint_disabled', decision: str(d['reason']) }),
  // Who changed a tenant's policy, and to which version: the policy itself is in the record's data.
  'tenants.policy.updated.v1': (d) => ({ status: 'policy_updated', decision: str(d['updatedBy']) }),
};

export function recordColumns(envelope: Pick<EventEnvelope, 'type' | 'data'>): RecordColumns {
  const extract = EXTRACTORS[envelope.type];
  return extract ? { ...NONE, ...extract(obj(envelope.data)) } : NONE;
}

/** Event types the extractors know; a test keeps this in step with the catalogue. */
export const EXTRACTED_TYPES = Object.keys(EXTRACTORS);

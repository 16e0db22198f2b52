import type {
  TaskError,
  TaskResponse,
  TaskResult,
  TaskSpec,
  TaskStatus,
  TriageDecision,
} from '@deliberate/contracts';

/** A row of the gateway's task read model. */
export interface TaskRecord {
  id: string;
  tenantId: string;
  status: TaskStatus;
  spec: TaskSpec;
  submittedVia: 'http' | 'kafka';
  idempotencyKey: string | null;
  requestHash: string;
  triage: TriageDecision | null;
  result: TaskResult | null;
  error: TaskError | null;
  escalation: TaskResponse['escalation'];
  cancellation: TaskResponse['cancellation'];
  createdAt: Date;
  updatedAt: Date;
}

export function toTaskResponse(t: TaskRecord): TaskResponse {
  return {
    id: t.id,
    tenantId: t.tenantId,
    status: t.status,
    mode: t.spec.mode,
    submittedVia: t.submittedVia,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    triage: t.triage,
    result: t.result,
    error: t.error,
    escalation: t.escalation,
    cancellation: t.cancellation,
    metadata: t.spec.metadata,
  };
}

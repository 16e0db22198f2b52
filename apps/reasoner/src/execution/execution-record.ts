import type {
  BudgetDeniedAction,
  ContextSelectionEntry,
  ReasoningEffort,
  ReasoningTraceRecorded,
  ReservationDenialReason,
  ServiceTier,
  TaskCancelled,
  TaskCompleted,
  TaskEscalated,
  TaskFailed,
  TokenUsage,
} from '@deliberate/contracts';
import type { RunSpec } from './run-spec';

export type CallTier = 'reasoning' | 'standard';

/** How an execution ended: its terminal event is written to the outbox in the transaction that stores this. */
export type ExecutionOutcome =
  | { kind: 'completed'; data: TaskCompleted }
  | { kind: 'failed'; data: TaskFailed }
  | { kind: 'escalated'; data: TaskEscalated }
  | { kind: 'cancelled'; data: TaskCancelled };

export type ExecutionStatus = 'pending' | 'running' | ExecutionOutcome['kind'];

// Kept in memory for as long as the execution runs, so it carries only what a run reads: the triage decision, the time
// of the request and most of the spec (see RunSpec) are stored with the execution, but nothing reads them back.
export interface ExecutionRecord {
  id: string;
  taskId: string;
  tenantId: string;
  spec: RunSpec;
  contextSelection: ContextSelectionEntry[] | null;
  /** When the reasoner accepted the task: the deadline counts from here. */
  createdAt: Date;
  deadlineAt: Date;
  status: ExecutionStatus;
  cancelRequestedAt: Date | null;
  cancelReason: string | null;
  /** Set once the execution ended: it is then never run or claimed again. */
  outcome: ExecutionOutcome | null;
}

/**
 * Why an attempt gave no answer. The first one of an execution is the `degraded` reason of a fallback answer
 * and the root cause of an escalation.
 */
export type FailureReason =
  | 'limit_hit'
  | 'unusable_answer'
  | 'deadline'
  | 'ledger_unavailable'
  | 'rate_limited'
  | 'server_error'
  | 'model_error'
  | 'model_breaker_open'
  | 'budget_denied'
  | 'cost_breaker_open'
  | 'executor_crashed'
  | 'cancelled'
  /** The provider had no flex capacity (429, not billed): the same step is called again at the default tier. */
  | 'flex_unavailable';

/**
 * started: the call is (or was, if the process died) in flight. finished: its result is recorded.
 * crashed: cut off by a crash before its result was recorded. skipped: no call made (breaker, budget, deadline).
 */
export type AttemptStatus = 'started' | 'finished' | 'crashed' | 'skipped';

export type TraceOutcome = ReasoningTraceRecorded['outcome'];
export type TraceParse = ReasoningTraceRecorded['parse'];

/** What the model returned (or how the call failed), as recorded the moment the call ended. */
export interface AttemptResult {
  content: string | null;
  providerReasoning: string | null;
  trace: string | null;
  answer: string | null;
  parse: TraceParse;
  latencyMs: number;
  /** The model as the provider named it (may carry a version suffix). */
  providerModel: string | null;
  errorKind: string | null;
  errorMessage: string | null;
  /**
   * The service tier the provider served the call at, as it reported it (what the ledger books the call at); absent
   * from attempts recorded before service tiers, and null when the provider did not say.
   */
  servedTier?: ServiceTier | null;
  /** When the ledger refused the reservation: no call was made. */
  denial: { reason: ReservationDenialReason; policy: BudgetDeniedAction | null } | null;
}

export interface AttemptRecord {
  id: string;
  executionId: string;
  attempt: number;
  tier: CallTier;
  /** The configured model: what the ledger priced the reservation and books the usage at. */
  model: string;
  status: AttemptStatus;
  outcome: TraceOutcome | null;
  /** Null when the attempt answered. */
  reason: FailureReason | null;
  detail: string | null;
  instanceId: string;
  reservationId: string | null;
  /**
   * A call in background mode: the provider's response id, recorded as soon as the provider accepted the call. An
   * attempt left started with one is resumed by polling it, never by calling again.
   */
  responseId: string | null;
  /** The provider's service tier the call asked for; null when no call was made. */
  serviceTier: ServiceTier | null;
  /** Why that tier: the tenant's rule for the task's latency budget, the tier's API, a flex refusal before. */
  serviceTierReason: string | null;
  maxCompletionTokens: number | null;
  reasoningEffort: ReasoningEffort | null;
  deadlineAt: Date | null;
  startedAt: Date;
  finishedAt: Date | null;
  finishReason: string | null;
  usage: TokenUsage | null;
  result: AttemptResult | null;
  usageEventId: string;
  traceEventId: string;
}

export interface ExecutionState {
  execution: ExecutionRecord;
  attempts: AttemptRecord[];
}

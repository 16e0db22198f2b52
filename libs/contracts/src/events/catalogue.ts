import { budgetBreakerClosedEvent, budgetBreakerOpenedEvent } from './budget-breaker.event';
import { budgetThresholdCrossedEvent } from './budget-threshold-crossed.event';
import type { EventDefinition } from './event-definition';
import { reasoningTraceRecordedEvent } from './reasoning-trace-recorded.event';
import { shadowComparisonRecordedEvent } from './shadow-comparison-recorded.event';
import { taskCancelRequestedEvent } from './task-cancel-requested.event';
import { taskCancelledEvent } from './task-cancelled.event';
import { taskEscalatedEvent } from './task-escalated.event';
import { taskReasoningStartedEvent } from './task-reasoning-started.event';
import { modelCallRecordedEvent } from './model-call-recorded.event';
import { reasoningRequestedEvent } from './reasoning-requested.event';
import { taskAcceptedEvent } from './task-accepted.event';
import { taskCompletedEvent } from './task-completed.event';
import { taskFailedEvent } from './task-failed.event';
import { taskSubmittedEvent } from './task-submitted.event';
import { taskTriagedEvent } from './task-triaged.event';
import { tenantPolicyUpdatedEvent } from './tenant-policy-updated.event';
import { webhookDeliveryAttemptedEvent } from './webhook-delivery-attempted.event';
import { webhookEndpointDisabledEvent } from './webhook-endpoint-disabled.event';
import { webhookMessageDeadLetteredEvent } from './webhook-message-dead-lettered.event';

// The topic catalogue: every event the system speaks. docs/asyncapi.yaml is generated from it.
export const EVENT_CATALOGUE = [
  taskSubmittedEvent,
  taskAcceptedEvent,
  taskTriagedEvent,
  reasoningRequestedEvent,
  taskCompletedEvent,
  taskFailedEvent,
  taskReasoningStartedEvent,
  reasoningTraceRecordedEvent,
  taskEscalatedEvent,
  taskCancelRequestedEvent,
  taskCancelledEvent,
  modelCallRecordedEvent,
  shadowComparisonRecordedEvent,
  budgetThresholdCrossedEvent,
  budgetBreakerOpenedEvent,
  budgetBreakerClosedEvent,
  webhookDeliveryAttemptedEvent,
  webhookMessageDeadLetteredEvent,
  webhookEndpointDisabledEvent,
  tenantPolicyUpdatedEvent,
] as const satisfies readonly EventDefinition[];

export function eventForTopic(topic: string): EventDefinition | undefined {
  return EVENT_CATALOGUE.find((e) => e.topic === topic);
}

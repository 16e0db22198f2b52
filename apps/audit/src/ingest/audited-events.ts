import { EVENT_CATALOGUE, type EventDefinition } from '@deliberate/contracts';

// The catalogue names the audit service among the consumers of every event but the intake topic: anyone who may write it can
// name any tenant, and only the gateway can tell (by its signature) whether the tenant sent it. What it admits
// reaches the trail as tasks.task.accepted.v1; what it refuses is a dead letter, not a record of that tenant.
// The ledger's reservation commands are request-reply plumbing outside the catalogue: a hold's outcome reaches the
// trail as the model call it paid for (usage.model-call.recorded.v1, with its reservation id) and as budget events.
export const AUDITED_EVENTS: readonly EventDefinition[] = EVENT_CATALOGUE.filter((e) =>
  e.consumers.includes('audit'),
);

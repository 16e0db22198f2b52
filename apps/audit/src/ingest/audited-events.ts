import { EVENT_CATALOGUE, type EventDefinition } from '@deliberate/contracts';

// Every event of the catalogue is part of the audit trail. The ledger's reservation commands are request-reply
// plumbing outside the catalogue: a hold's outcome reaches the trail as the model call it paid for
// (usage.model-call.recorded.v1, with its reservation id) and as budget events.
export const AUDITED_EVENTS: readonly EventDefinition[] = EVENT_CATALOGUE;

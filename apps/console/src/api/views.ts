import type { MeResponse } from '@deliberate/contracts';

// Which views a key sees, from GET /v1/me: each view only for the roles its API calls allow.

export type ViewName = 'reviews' | 'tasks' | 'audit' | 'spend' | 'webhooks';

export const VIEW_TITLES: Record<ViewName, string> = {
  reviews: 'Review queue',
  tasks: 'Task timeline',
  audit: 'Audit',
  spend: 'Spend',
  webhooks: 'Webhooks',
};

type Caller = MeResponse['role'] | 'platform-admin' | 'platform-auditor';

const ALLOWED: Record<ViewName, readonly Caller[]> = {
  reviews: ['reviewer', 'admin'],
  tasks: ['auditor', 'platform-auditor'],
  audit: ['auditor', 'platform-auditor'],
  spend: ['admin', 'auditor', 'platform-admin'],
  webhooks: ['admin', 'auditor', 'platform-admin'],
};

function callerOf(me: MeResponse): Caller {
  return me.kind === 'tenant' ? me.role : me.kind;
}

export function viewsFor(me: MeResponse): ViewName[] {
  const caller = callerOf(me);
  return (Object.keys(ALLOWED) as ViewName[]).filter((v) => ALLOWED[v].includes(caller));
}

/** Replaying deliveries and changing budgets: the tenant admin and the platform admin. */
export function mayAdminister(me: MeResponse): boolean {
  const caller = callerOf(me);
  return caller === 'admin' || caller === 'platform-admin';
}

/** The audit trail of a task waiting for review: the audit service lets a reviewer read it, an admin not. */
export function mayReadAttempts(me: MeResponse): boolean {
  return callerOf(me) === 'reviewer';
}

export function describeMe(me: MeResponse): string {
  if (me.kind === 'tenant') return `${me.role ?? 'key'} of tenant ${me.tenantId ?? '?'}`;
  return me.kind === 'platform-admin' ? 'platform admin' : 'platform auditor';
}

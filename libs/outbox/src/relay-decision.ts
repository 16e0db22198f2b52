import { isPermanentError } from '@deliberate/kafka';

// What the relay does with each row after trying to publish it: a row that can never be published is set aside
// (dead, with its reason) so the rows behind it go out; one that failed for a reason that may pass stays pending.
export type RelayDecision =
  { kind: 'published' } | { kind: 'dead'; reason: string } | { kind: 'retry'; error: string };

/** A row whose topic this service does not publish: a bug or a leftover of an older release, never worth a retry. */
export class UnknownOutboxTopicError extends Error {
  constructor(topic: string) {
    super(`no event of this service is published on ${topic}`);
    this.name = 'UnknownOutboxTopicError';
  }
}

const MAX_REASON_CHARS = 2_000;

export function decide(outcome: PromiseSettledResult<unknown>): RelayDecision {
  if (outcome.status === 'fulfilled') return { kind: 'published' };
  const error = outcome.reason as unknown;
  const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_REASON_CHARS);
  if (error instanceof UnknownOutboxTopicError || isPermanentError(error))
    return { kind: 'dead', reason: message };
  return { kind: 'retry', error: message };
}

export interface RelayPlan {
  published: string[];
  dead: { id: string; reason: string }[];
  retry: { id: string; error: string }[];
}

/** Sorts rows by what their publish attempt decided; `outcomes[i]` is the attempt for `ids[i]`. */
export function planRelay(
  ids: readonly string[],
  outcomes: readonly PromiseSettledResult<unknown>[],
): RelayPlan {
  const plan: RelayPlan = { published: [], dead: [], retry: [] };
  ids.forEach((id, i) => {
    const decision = decide(outcomes[i] ?? { status: 'rejected', reason: new Error('no publish attempt') });
    if (decision.kind === 'published') plan.published.push(id);
    else if (decision.kind === 'dead') plan.dead.push({ id, reason: decision.reason });
    else plan.retry.push({ id, error: decision.error });
  });
  return plan;
}

import type { BudgetDeniedAction, ReservationDenialReason } from '@deliberate/contracts';

// How a fast-model call can end other than with an answer. Each says what the task's handler does next.

/** Another handler took the call's claim (this one stalled past it): read the task again and follow it. */
export class CallClaimLostError extends Error {
  constructor(readonly taskId: string) {
    super(`the claim on task ${taskId}'s fast-model call was taken over`);
    this.name = 'CallClaimLostError';
  }
}

/** The ledger really denied the hold (budget, ceiling, breaker): the tenant's policy says what follows. */
export class BudgetDeniedError extends Error {
  constructor(
    readonly reason: ReservationDenialReason,
    message: string,
    /** What the ledger's reply says the tenant's policy asks, when it says. */
    readonly policy: BudgetDeniedAction | null,
  ) {
    super(message);
    this.name = 'BudgetDeniedError';
  }
}

/** The ledger refused the request itself (no price for the model, an invalid request): no retry can help. */
export class ReservationRefusedError extends Error {
  constructor(
    readonly reason: ReservationDenialReason,
    message: string,
  ) {
    super(message);
    this.name = 'ReservationRefusedError';
  }
}

/** A dependency stayed down until the task's deadline: the task fails with `deadline_exceeded`, naming it. */
export class TaskDeadlineError extends Error {
  constructor(
    /** What was down: `the ledger`, `the fast model`. */
    readonly what: string,
    readonly detail: string,
  ) {
    super(`${what} did not answer before the task's deadline (${detail})`);
    this.name = 'TaskDeadlineError';
  }
}

/**
 * A call failed in a way a later try may mend (the fast model's 5xx, timeout or 429; a ledger that did not answer):
 * the task waits for that try in its record, until its deadline.
 */
export class RetryLaterError extends Error {
  constructor(
    /** What failed: `the ledger`, `the fast model`. */
    readonly what: string,
    readonly detail: string,
    /** The provider's Retry-After, when it gave one. */
    readonly retryAfterMs: number | null,
    /** The try never got a hold (the ledger did not answer): the next one asks again under the same key. */
    readonly sameAttempt: boolean,
  ) {
    super(`${what} failed (${detail}); trying again later`);
    this.name = 'RetryLaterError';
  }
}

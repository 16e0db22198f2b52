/** No answer in time, or the transport failed: the request may or may not have been applied; retry (idempotent). */
export class LedgerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerUnavailableError';
  }
}

/** The ledger refused the request: `invalid_request` will fail again as is; `internal` may pass on a retry. */
export class LedgerRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LedgerRequestError';
  }
}

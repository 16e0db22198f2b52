import type { ReserveReply, ReserveRequest, SettleRequest } from '@deliberate/contracts';
import { jitteredBackoffMs, sleep } from '@deliberate/retry';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LedgerClient } from './ledger-client';

// Authorize-then-capture around every paid call, the one way services reserve. A ledger that does not answer a
// reserve is asked again, with jittered and capped backoff and under the same reservation key (so a hold made by a
// request whose answer was lost is answered again, not doubled), until the caller's deadline: an outage is a wait,
// never a denial. Settle and release are idempotent and retried a few times; if they still fail, the call's usage
// event books the spend and the ledger's sweeper frees the hold.

export interface CallReservationsOptions {
  /** Attempts at a settle or release before leaving it to the usage event and the sweeper; default 3. */
  settleAttempts?: number;
  /** First retry delay; doubles per retry up to `retryMaxMs`, half of it random. Default 200 ms. */
  retryBaseMs?: number;
  /** Cap of one retry delay; default 5000 ms. */
  retryMaxMs?: number;
}

export const CALL_RESERVATIONS_OPTIONS = Symbol('CALL_RESERVATIONS_OPTIONS');

export const DEFAULT_CALL_RESERVATIONS_OPTIONS: Required<CallReservationsOptions> = {
  settleAttempts: 3,
  retryBaseMs: 200,
  retryMaxMs: 5_000,
};

/** The ledger commands a reservation needs: LedgerClient, or a fake in unit tests. */
export type LedgerCommands = Pick<LedgerClient, 'reserve' | 'settle' | 'release'>;

/** A reserve that may be retried: it names the hold it asks for. */
export type KeyedReserveRequest = ReserveRequest & { reservationKey: string };

export interface ReserveOptions {
  /** No retry starts after this; the last `ledger_unavailable` reply is then returned. */
  deadlineAt: Date;
  /** Stops waiting at once (cancel, shutdown); the last reply is returned. */
  signal?: AbortSignal | undefined;
}

@Injectable()
export class CallReservations {
  private readonly logger = new Logger(CallReservations.name);
  private readonly options: Required<CallReservationsOptions>;

  constructor(
    @Inject(LedgerClient) private readonly ledger: LedgerCommands,
    @Optional() @Inject(CALL_RESERVATIONS_OPTIONS) options?: CallReservationsOptions,
  ) {
    this.options = { ...DEFAULT_CALL_RESERVATIONS_OPTIONS, ...options };
  }

  /**
   * Reserves the call's worst case. `ledger_unavailable` is retried under the request's key until `deadlineAt`
   * (or the signal); every other reply, approval or real denial, is returned as it came.
   */
  async reserve(request: KeyedReserveRequest, { deadlineAt, signal }: ReserveOptions): Promise<ReserveReply> {
    for (let retry = 1; ; retry += 1) {
      const reply = await this.ledger.reserve(request);
      if (reply.approved || reply.reason !== 'ledger_unavailable' || signal?.aborted) return reply;
      const msLeft = deadlineAt.getTime() - Date.now();
      if (msLeft <= 0) return reply;
      const delayMs = jitteredBackoffMs(retry, this.options.retryBaseMs, this.options.retryMaxMs);
      if (retry === 1 || retry % 10 === 0) {
        this.logger.warn({
          msg: 'the ledger did not answer a reserve; waiting for it until the deadline',
          reservationKey: request.reservationKey,
          retry,
          deadlineAt: deadlineAt.toISOString(),
        });
      }
      await sleep(Math.min(delayMs, msLeft), signal);
      if (signal?.aborted) return reply;
    }
  }

  /** Books the call's actual usage against its hold; false when the ledger could not be reached. */
  async settle(request: SettleRequest): Promise<boolean> {
    return this.retry('settle', request.reservationId, () => this.ledger.settle(request));
  }

  /** Frees the hold of a call that consumed nothing. */
  async release(reservationId: string, reason: string): Promise<boolean> {
    return this.retry('release', reservationId, () =>
      this.ledger.release({ reservationId, reason: reason.slice(0, 500) }),
    );
  }

  private async retry(command: string, reservationId: string, run: () => Promise<unknown>): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await run();
        return true;
      } catch (e) {
        if (attempt >= this.options.settleAttempts) {
          this.logger.warn({
            msg: `ledger ${command} failed; the usage event and the ledger's sweeper settle the hold`,
            reservationId,
            error: (e as Error).message,
          });
          return false;
        }
        await sleep(jitteredBackoffMs(attempt, this.options.retryBaseMs, this.options.retryMaxMs));
      }
    }
  }
}

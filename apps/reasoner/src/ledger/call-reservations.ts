import type { ReserveReply, ReserveRequest, SettleRequest } from '@deliberate/contracts';
import { LedgerClient } from '@deliberate/ledger-client';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { backoffDelayMs, sleep } from '../retry/backoff';

const LEDGER_RETRY_BASE_MS = 200;

// Authorize-then-capture around every paid call. A ledger that does not answer is asked again a few times (with
// jittered backoff) before a reserve counts as denied; settle and release are idempotent, so retrying them is safe,
// and if they still fail the call's usage event books the spend and the ledger's sweeper frees the hold.
@Injectable()
export class CallReservations {
  private readonly logger = new Logger(CallReservations.name);
  private readonly attempts: number;

  constructor(
    private readonly ledger: LedgerClient,
    @Inject(REASONER_CONFIG) config: ReasonerConfig,
  ) {
    this.attempts = config.REASONER_LEDGER_ATTEMPTS;
  }

  async reserve(request: ReserveRequest, signal?: AbortSignal): Promise<ReserveReply> {
    for (let attempt = 1; ; attempt += 1) {
      const reply = await this.ledger.reserve(request);
      if (
        reply.approved ||
        reply.reason !== 'ledger_unavailable' ||
        attempt >= this.attempts ||
        signal?.aborted
      )
        return reply;
      await sleep(backoffDelayMs(attempt, LEDGER_RETRY_BASE_MS), signal);
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
        if (attempt >= this.attempts) {
          this.logger.warn({
            msg: `ledger ${command} failed; the usage event and the ledger's sweeper settle the hold`,
            reservationId,
            error: (e as Error).message,
          });
          return false;
        }
        await sleep(backoffDelayMs(attempt, LEDGER_RETRY_BASE_MS));
      }
    }
  }
}

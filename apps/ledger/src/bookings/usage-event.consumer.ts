import { modelCallRecordedEvent } from '@deliberate/contracts';
import { dependencyOutage } from '@deliberate/retry';
import { handle, KafkaLifecycle, PermanentError } from '@deliberate/kafka';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config';
import { type BookingOutcome, UsageBookingService } from './usage-booking.service';

// Waits between two tries at an unreachable database: doubling from the first, up to the last.
const OUTAGE_RETRY_FIRST_MS = 200;
const OUTAGE_RETRY_MAX_MS = 2_000;

// Books every model call announced on usage.model-call.recorded.v1, once per event id. What can never be booked
// (no price, a conflicting replay, inconsistent counts) is dead-lettered with the reason instead of retried. An
// unreachable database is waited for within each attempt: a paid call's usage is never set aside for an outage.
@Injectable()
export class UsageEventConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsageEventConsumer.name);

  constructor(
    private readonly kafka: KafkaLifecycle,
    private readonly bookings: UsageBookingService,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.startConsumer({
      group: 'ledger.usage',
      concurrency: this.config.LEDGER_USAGE_CONCURRENCY,
      handlers: [
        handle(modelCallRecordedEvent, async (e, meta) => {
          const outcome = await this.waitingOutOutages(meta.signal, () =>
            this.bookings.book({
              eventId: e.id,
              tenantId: e.tenantId,
              taskId: e.taskId,
              reservationId: e.data.reservationId,
              callId: e.data.callId,
              model: e.data.model,
              tier: e.data.tier,
              purpose: e.data.purpose,
              outcome: e.data.outcome,
              usage: e.data.usage,
              calledAt: new Date(e.time),
              source: 'event',
              // A cut-off call's event may arrive before its aborted settle: it books the same worst case.
              aborted: e.data.outcome === 'aborted',
            }),
          );
          if (outcome.kind === 'rejected') throw new PermanentError(outcome.message);
          if (outcome.kind === 'booked' && outcome.note) {
            this.logger.warn({ msg: outcome.note, eventId: e.id, tenantId: e.tenantId });
          }
        }),
      ],
    });
  }

  // Tries again while Postgres is unreachable, until most of the attempt's time budget is spent (an attempt past it
  // is dead-lettered at once); then the attempt fails and the consumer's own retries take over.
  private async waitingOutOutages(
    signal: AbortSignal | undefined,
    book: () => Promise<BookingOutcome>,
  ): Promise<BookingOutcome> {
    const giveUpAt = Date.now() + this.config.KAFKA_HANDLER_TIMEOUT_MS * 0.8;
    for (let delayMs = OUTAGE_RETRY_FIRST_MS; ; delayMs = Math.min(delayMs * 2, OUTAGE_RETRY_MAX_MS)) {
      try {
        return await book();
      } catch (e) {
        const outage = dependencyOutage(e);
        if (!outage || signal?.aborted || Date.now() + delayMs > giveUpAt) throw e;
        this.logger.warn({ msg: 'waiting for the database to book usage', detail: outage.detail, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }
}

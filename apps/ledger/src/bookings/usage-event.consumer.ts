import { modelCallRecordedEvent } from '@deliberate/contracts';
import { handle, KafkaLifecycle, PermanentError } from '@deliberate/kafka';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config';
import { UsageBookingService } from './usage-booking.service';

// Books every model call announced on usage.model-call.recorded.v1, once per event id. What can never be booked
// (no price, a conflicting replay, inconsistent counts) is dead-lettered with the reason instead of retried. An
// unreachable database is waited for within each attempt (by the shared consumer): a paid call's usage is never set
// aside for an outage.
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
        handle(modelCallRecordedEvent, async (e) => {
          const outcome = await this.bookings.book({
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
            serviceTier: e.data.serviceTier ?? 'default',
            calledAt: new Date(e.time),
            source: 'event',
            // A cut-off call's event may arrive before its aborted settle: it books the same worst case.
            aborted: e.data.outcome === 'aborted',
          });
          if (outcome.kind === 'rejected') throw new PermanentError(outcome.message);
          if (outcome.kind === 'booked' && outcome.note) {
            this.logger.warn({ msg: outcome.note, eventId: e.id, tenantId: e.tenantId });
          }
        }),
      ],
    });
  }
}

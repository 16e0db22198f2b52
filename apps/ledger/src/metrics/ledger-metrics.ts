import type { ReservationDenialReason } from '@deliberate/contracts';
import { observeGauge, ServiceMetrics } from '@deliberate/metrics';
import { Sql } from '@deliberate/persistence';
import { Injectable, Optional } from '@nestjs/common';
import type { Counter } from '@opentelemetry/api';
import { BreakerRepository } from '../breaker/breaker.repository';
import { ReservationRepository } from '../spending/reservation.repository';

const TENANT = 'deliberate.tenant.id';
const MICRO = 1e6;

// The ledger's own instruments, in USD (micro-USD / 1e6). Labels: the tenant (bounded) and the denial reason (an
// enum), never a task, reservation or event id. The gauges are one statement each, read at scrape time.
@Injectable()
export class LedgerMetrics {
  private readonly spend: Counter | undefined;
  private readonly denials: Counter | undefined;
  private readonly unrecordedDenials: Counter | undefined;

  constructor(
    sql: Sql,
    reservations: ReservationRepository,
    breakers: BreakerRepository,
    // A bare test module without a metrics module books unmeasured.
    @Optional() metrics?: ServiceMetrics,
  ) {
    if (!metrics) return;
    const meter = metrics.meter('deliberate.ledger');
    this.spend = meter.createCounter('deliberate.ledger.spend', {
      description: 'Cost booked by settles and usage events, each booking once',
      unit: '{USD}',
    });
    this.denials = meter.createCounter('deliberate.ledger.reservation.denials', {
      description: 'Reservations refused, by reason',
      unit: '{reservation}',
    });
    this.unrecordedDenials = meter.createCounter('deliberate.ledger.denials.unrecorded', {
      description: 'Denials answered but not written to the denials table (the write failed)',
      unit: '{denial}',
    });
    observeGauge(
      meter,
      'deliberate.ledger.held',
      { description: "What the tenant's active reservations hold", unit: '{USD}' },
      // A tenant with nothing held any more drops out of the query, and observeGauge reports it at 0.
      async () =>
        (await reservations.heldByTenant(sql)).map(
          (h) => [{ [TENANT]: h.tenantId }, h.heldMicroUsd / MICRO] as const,
        ),
    );
    observeGauge(
      meter,
      'deliberate.ledger.breaker.open',
      { description: 'Whether the tenant cost breaker is open (1) or not (0)', unit: '{breaker}' },
      async () => (await breakers.openTenants(sql)).map((tenantId) => [{ [TENANT]: tenantId }, 1] as const),
    );
  }

  /** A booking was written: what it added to the tenant's spend. */
  booked(tenantId: string, microUsd: number): void {
    if (microUsd > 0) this.spend?.add(microUsd / MICRO, { [TENANT]: tenantId });
  }

  denied(reason: ReservationDenialReason): void {
    this.denials?.add(1, { reason });
  }

  denialUnrecorded(reason: ReservationDenialReason): void {
    this.unrecordedDenials?.add(1, { reason });
  }
}

import { observeGauge, ServiceMetrics } from '@deliberate/metrics';
import { Injectable, Optional } from '@nestjs/common';
import type { Attributes, Counter } from '@opentelemetry/api';
import type { AttemptRecord } from './delivery-store';
import { DeliveryRepository } from './delivery.repository';

// The webhook service's instruments. Labels are the attempt's outcome and error type (small enums: an HTTP status
// only as its class), never a URL, endpoint, tenant or message id. The gauges are read at scrape time.
@Injectable()
export class WebhooksMetrics {
  private readonly attempts: Counter | undefined;
  private readonly deadLetters: Counter | undefined;

  constructor(
    deliveries: DeliveryRepository,
    // A bare test module without a metrics module delivers unmeasured.
    @Optional() metrics?: ServiceMetrics,
  ) {
    if (!metrics) return;
    const meter = metrics.meter('deliberate.webhooks');
    this.attempts = meter.createCounter('deliberate.webhooks.attempts', {
      description: 'Delivery attempts recorded, by outcome and, when not delivered, by error type',
      unit: '{attempt}',
    });
    this.deadLetters = meter.createCounter('deliberate.webhooks.dead_letters', {
      description: 'Deliveries given up: after their last attempt, or with their disabled endpoint',
      unit: '{delivery}',
    });
    // Served as 0 from the start, so that its alert (an increase) and its panel have a series before the first one.
    this.deadLetters.add(0);
    // Both gauges from one statement per scrape: the second callback of a collection shares the first one's read.
    let reading: ReturnType<DeliveryRepository['backlog']> | null = null;
    const backlog = () =>
      (reading ??= deliveries.backlog().finally(() => {
        reading = null;
      }));
    observeGauge(
      meter,
      'deliberate.webhooks.backlog',
      { description: 'Deliveries waiting for an attempt, due or scheduled', unit: '{delivery}' },
      async () => [[{}, (await backlog()).waiting] as const],
    );
    observeGauge(
      meter,
      'deliberate.webhooks.backlog.age',
      { description: 'Age of the oldest delivery waiting for an attempt (0 when none)', unit: 's' },
      async () => [[{}, (await backlog()).oldestAgeSeconds] as const],
    );
    observeGauge(
      meter,
      'deliberate.webhooks.endpoints.disabled',
      { description: 'Endpoints disabled now', unit: '{endpoint}' },
      async () => [[{}, await deliveries.disabledEndpoints()] as const],
    );
  }

  /** Attempts whose outcome was committed. */
  attempted(records: readonly AttemptRecord[]): void {
    if (!this.attempts) return;
    for (const r of records) {
      const attributes: Attributes = { outcome: r.outcome };
      if (r.errorType !== null) attributes['error.type'] = r.errorType;
      this.attempts.add(1, attributes);
    }
  }

  /** Deliveries whose dead letter was committed. */
  deadLettered(count: number): void {
    if (count > 0) this.deadLetters?.add(count);
  }
}

import { observeGauge, SECONDS_BUCKETS, ServiceMetrics } from '@deliberate/metrics';
import { Sql } from '@deliberate/persistence';
import { Injectable, Optional } from '@nestjs/common';
import type { Counter, Histogram } from '@opentelemetry/api';
import { ChainRepository } from '../chain/chain.repository';
import type { AppendedRecord } from '../chain/record-appender';

// The audit trail's instruments, with no labels at all: no tenant, event or task id. The chain length is one
// statement over the chain heads (one row per tenant), read at scrape time.
@Injectable()
export class AuditMetrics {
  private readonly delay: Histogram | undefined;
  private readonly appendedRecords: Counter | undefined;
  private readonly verifyFailures: Counter | undefined;

  constructor(
    sql: Sql,
    chains: ChainRepository,
    // A bare test module without a metrics module records unmeasured.
    @Optional() metrics?: ServiceMetrics,
  ) {
    if (!metrics) return;
    const meter = metrics.meter('deliberate.audit');
    this.delay = meter.createHistogram('deliberate.audit.ingest.delay', {
      description: "Time from an event's time to the commit of its record",
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
    this.appendedRecords = meter.createCounter('deliberate.audit.records.appended', {
      description:
        "Records appended to the chains: events (each once), auditors' queries and retention purges",
      unit: '{record}',
    });
    this.verifyFailures = meter.createCounter('deliberate.audit.verify.failures', {
      description: 'Verifications that found a broken chain',
      unit: '{verification}',
    });
    // Served as 0 from the start, so that its alert (an increase) and its panel have a series before any failure.
    this.verifyFailures.add(0);
    observeGauge(
      meter,
      'deliberate.audit.chain.length',
      {
        description: "Records ever appended to the chains: the sum of the chains' last seq",
        unit: '{record}',
      },
      async () => [[{}, await chains.totalLength(sql)] as const],
    );
  }

  /** Events' records committed at `committedAtMs` (one clock read for the batch); duplicates are not among them. */
  stored(records: readonly AppendedRecord[], committedAtMs: number): void {
    if (!this.delay || records.length === 0) return;
    // An event stamped in the future (a skewed producer clock) counts as no delay rather than a negative one.
    for (const r of records) this.delay.record(Math.max(0, committedAtMs - r.occurredAtMs) / 1000);
    this.appendedRecords!.add(records.length);
  }

  /** Records the service appended itself (an auditor's query, a retention purge), committed. */
  appended(count: number): void {
    if (count > 0) this.appendedRecords?.add(count);
  }

  verifyFailed(): void {
    this.verifyFailures?.add(1);
  }
}

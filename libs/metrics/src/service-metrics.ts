import type { Attributes, Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** The content type of the Prometheus text exposition format that `render()` writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// One registry per service instance, never the process-wide global: tests run several services in one process,
// and each must serve only its own metrics. Instruments are created through `meter()`; `/metrics` renders them.
export class ServiceMetrics {
  private readonly reader = new PrometheusExporter({ preventServerStart: true });
  private readonly provider: MeterProvider;
  // No per-scope labels on every series (otel_scope_name …): the metric names say where they come from.
  private readonly serializer = new PrometheusSerializer(undefined, false, undefined, false, true);

  constructor(readonly serviceName: string) {
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      readers: [this.reader],
    });
  }

  meter(scope: string): Meter {
    return this.provider.getMeter(scope);
  }

  /** Every instrument's current value, in the Prometheus text format. */
  async render(): Promise<string> {
    const { resourceMetrics } = await this.reader.collect();
    return this.serializer.serialize(resourceMetrics);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/** Bucket boundaries for durations in seconds, from 5 ms to about 20 minutes (reasoning calls run long). */
export const SECONDS_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200,
];

/** The OpenTelemetry GenAI conventions' advised boundaries for gen_ai.client.operation.duration (s). */
export const GEN_AI_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** The OpenTelemetry GenAI conventions' advised boundaries for gen_ai.client.token.usage ({token}). */
export const GEN_AI_TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/**
 * A gauge whose value is read when metrics are collected, from a function that answers (attributes, value) pairs:
 * a count kept in memory, or one cheap query. The SDK keeps reporting every series a gauge ever had at its last value,
 * so a series the read no longer answers (a tenant with nothing held any more, a partition now another replica's) is
 * reported as 0, and a read that fails reports NaN for the series it answered last: a scrape shows "unknown" rather
 * than a stale value.
 */
export function observeGauge(
  meter: Meter,
  name: string,
  options: { description: string; unit: string },
  read: () => Iterable<readonly [Attributes, number]> | Promise<Iterable<readonly [Attributes, number]>>,
): void {
  const gauge = meter.createObservableGauge(name, options);
  let lastSeries = new Map<string, Attributes>();
  gauge.addCallback(async (result) => {
    let values: (readonly [Attributes, number])[];
    try {
      values = [...(await read())];
    } catch {
      for (const attributes of lastSeries.values()) result.observe(Number.NaN, attributes);
      return;
    }
    const series = new Map(values.map(([attributes]) => [seriesKey(attributes), attributes]));
    for (const [key, attributes] of lastSeries) if (!series.has(key)) result.observe(0, attributes);
    for (const [attributes, value] of values) result.observe(value, attributes);
    lastSeries = series;
  });
}

const seriesKey = (attributes: Attributes): string =>
  JSON.stringify(
    Object.keys(attributes)
      .sort()
      .map((k) => [k, attributes[k]]),
  );

import { NodeSDK } from '@opentelemetry/sdk-node';
import { ConsoleSpanExporter, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

export interface TelemetryOptions {
  serviceName: string;
  exporter: 'none' | 'console' | 'otlp';
  otlpEndpoint?: string | undefined;
}

// Must run before Nest, express, pg or the openai SDK are imported, or their instrumentation never attaches.
// Express is left uninstrumented: a span per middleware layer costs more than it tells; the HTTP span suffices.
// With exporter 'none' spans are still created, so trace ids reach the logs and travel in Kafka headers.
export function startTelemetry(options: TelemetryOptions): () => Promise<void> {
  const spanProcessors: SpanProcessor[] = [];
  if (options.exporter === 'console')
    spanProcessors.push(new BatchSpanProcessor({ exporter: new ConsoleSpanExporter() }));
  if (options.exporter === 'otlp') {
    const url = options.otlpEndpoint ? `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` : undefined;
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter(url ? { url } : {}) }));
  }
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors,
    // Traces only: left unset, the SDK would export metrics and logs to an OTLP endpoint nobody runs, and
    // hold every shutdown for seconds trying to flush them.
    metricReaders: [],
    logRecordProcessors: [],
    autoDetectResources: false,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/health' }),
      new UndiciInstrumentation(),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return () => sdk.shutdown();
}

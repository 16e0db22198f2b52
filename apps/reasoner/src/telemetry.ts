import { startTelemetry } from '@deliberate/telemetry';
import { tryLoadReasonerConfig } from './config';

// Imported first by main.ts, before anything that opens sockets. A bad configuration is reported by main().
const config = tryLoadReasonerConfig();
export const stopTelemetry = config
  ? startTelemetry({
      serviceName: 'deliberate-reasoner',
      exporter: config.OTEL_TRACES_EXPORTER,
      otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    })
  : () => Promise.resolve();

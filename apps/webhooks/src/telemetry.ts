import { startTelemetry } from '@deliberate/telemetry';
import { tryLoadWebhooksConfig } from './config';

// Imported first by main.ts: instrumentation must patch http, express and pg before they load.
// A bad configuration is reported by main(), with every problem listed; telemetry just stays off.
const config = tryLoadWebhooksConfig();
export const stopTelemetry = config
  ? startTelemetry({
      serviceName: 'deliberate-webhooks',
      exporter: config.OTEL_TRACES_EXPORTER,
      otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    })
  : () => Promise.resolve();

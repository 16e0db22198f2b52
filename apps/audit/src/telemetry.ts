import { startTelemetry } from '@deliberate/telemetry';
import { tryLoadAuditConfig } from './config';

// Imported first by main.ts: instrumentation must patch http, express and pg before they load.
// A bad configuration is reported by main(), with every problem listed; telemetry just stays off.
const config = tryLoadAuditConfig();
export const stopTelemetry = config
  ? startTelemetry({
      serviceName: 'deliberate-audit',
      exporter: config.OTEL_TRACES_EXPORTER,
      otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    })
  : () => Promise.resolve();

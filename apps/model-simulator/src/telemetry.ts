import { startTelemetry } from '@deliberate/telemetry';
import { loadSimulatorConfig, SIMULATOR_SERVICE_NAME } from './config';

// Imported first by main.ts: instrumentation must attach before Nest and express load.
export const config = loadSimulatorConfig();
export const stopTelemetry = startTelemetry({
  serviceName: SIMULATOR_SERVICE_NAME,
  exporter: config.OTEL_TRACES_EXPORTER,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
});

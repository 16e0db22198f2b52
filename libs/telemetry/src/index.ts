export * from './start-telemetry';
export * from './json-logger';

export * from './service-metrics';
export * from './metrics.module';
export * from './job-run-metrics';

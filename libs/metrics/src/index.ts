export * from './service-metrics';
export * from './metrics.module';

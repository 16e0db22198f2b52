export * from './llm-config';
export * from './model-call-error';
export * from './model-call-result';
export * from './model-client';
export * from './llm.module';
export * from './input-token-bound';
export * from './model-call-metrics';

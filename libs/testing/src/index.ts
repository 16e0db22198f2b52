export * from './test-database';
export * from './test-kafka';
export * from './poll';
export * from './internal-identity';
export * from './intake-signature';
export * from './sasl-broker';
export * from './hostile-kafka-messages';

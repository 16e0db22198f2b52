export * from './outbox-message';
export * from './outbox-payload';
export * from './outbox.options';
export * from './outbox';
export * from './outbox-relay';
export * from './published-marks';
export * from './outbox.module';
export * from './relay-decision';

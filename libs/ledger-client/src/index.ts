export * from './ledger-client.options';
export * from './ledger-client.errors';
export * from './ledger-client';
export * from './call-reservations';
export * from './breaker-state.cache';
export * from './ledger-client.module';

export * from './backoff';
export * from './dependency-outage';

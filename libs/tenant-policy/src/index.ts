export * from './tenant-policy-book';
export * from './tenant-policy.cache';
export * from './tenant-policy.module';

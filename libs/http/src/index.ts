export * from './json-body-parser';
export * from './problem.filter';
export * from './zod-validation.pipe';
export * from './internal-auth.guard';
export * from './request-target';
export * from './security-headers';
export * from './unsafe-text.middleware';

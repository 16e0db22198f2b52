export * from './json-body-parser';
export * from './problem.filter';
export * from './zod-validation.pipe';

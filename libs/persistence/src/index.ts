export * from './database-bootstrap';
export * from './persistence.module';
export * from './sql';
export * from './data-source-sql';
export * from './pool-sql';
export * from './column-cipher';
export * from './periodic-job';
export * from './prepared-statements';

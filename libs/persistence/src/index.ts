export * from './database-bootstrap';
export * from './persistence.module';
export * from './service-database';
export * from './column-cipher';

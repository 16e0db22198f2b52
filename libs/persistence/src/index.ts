export * from './database-bootstrap';
export * from './persistence.module';

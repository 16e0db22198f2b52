/**
 * Where the auditor API's reads run (timelines, search, export, verify, checkpoints): the Sql of
 * AUDIT_READ_DATABASE_URL's pool when one is configured, else the writer's (AuditDatabase.reads).
 */
export const AUDIT_READ_SQL = Symbol('AUDIT_READ_SQL');

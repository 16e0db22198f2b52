import { loadAuditConfig } from './config';

describe('audit config', () => {
  const base = { AUDIT_SIGNING_KEY: 'seed' };

  it('defaults to port 3005, 183 days of retention, redaction on and the writer role', () => {
    expect(loadAuditConfig(base)).toMatchObject({
      AUDIT_PORT: 3005,
      AUDIT_HOST: '127.0.0.1',
      AUDIT_RETENTION_DAYS: 183,
      AUDIT_REDACTION: 'on',
      AUDIT_DATABASE_ROLE: 'deliberate_audit_writer',
      AUDIT_ENCRYPTED_TENANTS: [],
    });
  });

  it('requires a signing key, and an encryption key for encrypted tenants', () => {
    expect(() => loadAuditConfig({})).toThrow(/AUDIT_SIGNING_KEY/);
    expect(() => loadAuditConfig({ ...base, AUDIT_ENCRYPTED_TENANTS: 'acme' })).toThrow(
      /AUDIT_ENCRYPTION_KEY: is required/,
    );
    expect(() =>
      loadAuditConfig({ ...base, AUDIT_ENCRYPTED_TENANTS: 'acme', AUDIT_ENCRYPTION_KEY: 'c2hvcnQ=' }),
    ).toThrow(/32 bytes/);
  });

  it('refuses custom redaction patterns that are not regular expressions, naming the entry', () => {
    expect(() => loadAuditConfig({ ...base, AUDIT_REDACT_PATTERNS: '["ok", "("]' })).toThrow(/entry 1/);
    expect(() => loadAuditConfig({ ...base, AUDIT_REDACT_PATTERNS: 'nope' })).toThrow(/JSON array/);
    expect(
      loadAuditConfig({ ...base, AUDIT_REDACT_PATTERNS: '["ACME-\\\\d+"]' }).AUDIT_REDACT_PATTERNS[0]!.source,
    ).toBe('ACME-\\d+');
  });
});

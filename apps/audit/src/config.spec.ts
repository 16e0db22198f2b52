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

  it('partitions records by 30 days unless told, refusing a width outside 1 to 366 days', () => {
    expect(loadAuditConfig(base).AUDIT_PARTITION_DAYS).toBe(30);
    expect(loadAuditConfig({ ...base, AUDIT_PARTITION_DAYS: '7' }).AUDIT_PARTITION_DAYS).toBe(7);
    expect(() => loadAuditConfig({ ...base, AUDIT_PARTITION_DAYS: '0' })).toThrow(/AUDIT_PARTITION_DAYS/);
    expect(() => loadAuditConfig({ ...base, AUDIT_PARTITION_DAYS: '367' })).toThrow(/AUDIT_PARTITION_DAYS/);
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

  it('refuses a custom redaction pattern that can backtrack super-linearly, naming the variable and the pattern', () => {
    const load = (patterns: string[]) =>
      loadAuditConfig({ ...base, AUDIT_REDACT_PATTERNS: JSON.stringify(patterns) });
    expect(() => load(['ACME-\\d{6}', '(a+)+$'])).toThrow(
      /AUDIT_REDACT_PATTERNS: entry 1 \(\(a\+\)\+\$\) can backtrack in exponential time/,
    );
    // Quadratic, like the e-mail pattern that once stalled the trail: a run of letters is rescanned from every position.
    expect(() => load(['[a-z]+@[a-z]+\\.[a-z]{2,}'])).toThrow(
      /entry 0 .* can backtrack in 2nd degree polynomial time/,
    );
    // Every refused entry is listed, not only the first.
    expect(() => load(['(a|a)*$', 'ok', '(x+x+)+y'])).toThrow(/entry 0 .*\n.*entry 2 /);
    expect(load(['ACME-\\d{6}', '\\bEMP-[0-9]{4,8}\\b']).AUDIT_REDACT_PATTERNS).toHaveLength(2);
  });

  it('reads the keyring of older checkpoint keys, listing every bad entry', () => {
    const entry = { keyId: '0123456789abcdef', publicKey: 'c2hvcnQ=' };
    expect(loadAuditConfig(base).AUDIT_CHECKPOINT_PUBLIC_KEYS).toEqual([]);
    expect(() => loadAuditConfig({ ...base, AUDIT_CHECKPOINT_PUBLIC_KEYS: 'nope' })).toThrow(
      /AUDIT_CHECKPOINT_PUBLIC_KEYS: must be a JSON array/,
    );
    expect(() =>
      loadAuditConfig({
        ...base,
        AUDIT_CHECKPOINT_PUBLIC_KEYS: JSON.stringify([entry, { ...entry, keyId: 'X', notAfter: 'soon' }]),
      }),
    ).toThrow(
      /entry 0: a base64 public key must decode to 32 bytes(.|\n)*entry 1\.keyId(.|\n)*entry 1\.notAfter/,
    );
  });
});

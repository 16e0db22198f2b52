import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { kafkaConfigSchema, kafkaSecurityCheck } from './common-config';
import { ConfigError, loadConfig } from './load-config';

// The same composition every service's config.ts uses: the shape spread into its own object, plus the check.
const schema = z
  .object({ ...kafkaConfigSchema.shape, OTHER_PORT: z.coerce.number().int() })
  .check(kafkaSecurityCheck);

const dir = mkdtempSync(join(tmpdir(), 'kafka-security-config-'));
const pem = join(dir, 'ca.pem');
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig('svc', schema, { OTHER_PORT: '1', DELIBERATE_ENV: 'local', ...env });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

describe('Kafka topic replication', () => {
  it("takes the cluster's default replication factor unless told, and refuses 0 and more than 5", () => {
    expect(
      loadConfig('svc', schema, { OTHER_PORT: '1', DELIBERATE_ENV: 'local' }).KAFKA_REPLICATION_FACTOR,
    ).toBe(-1);
    expect(
      loadConfig('svc', schema, { OTHER_PORT: '1', DELIBERATE_ENV: 'local', KAFKA_REPLICATION_FACTOR: '3' })
        .KAFKA_REPLICATION_FACTOR,
    ).toBe(3);
    expect(problems({ KAFKA_REPLICATION_FACTOR: '0' }).join('\n')).toContain('KAFKA_REPLICATION_FACTOR');
    expect(problems({ KAFKA_REPLICATION_FACTOR: '6' }).join('\n')).toContain('KAFKA_REPLICATION_FACTOR');
    expect(problems({ KAFKA_REPLICATION_FACTOR: '-2' }).join('\n')).toContain('KAFKA_REPLICATION_FACTOR');
  });
});

describe('Kafka security configuration', () => {
  it('defaults to no SASL and no TLS', () => {
    const config = loadConfig('svc', schema, { OTHER_PORT: '1', DELIBERATE_ENV: 'local' });
    expect(config.KAFKA_SASL_MECHANISM).toBe('none');
    expect(config.KAFKA_TLS).toBe(false);
  });

  it('accepts SCRAM credentials with TLS and a CA file', () => {
    const config = loadConfig('svc', schema, {
      OTHER_PORT: '1',
      DELIBERATE_ENV: 'local',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'gateway',
      KAFKA_SASL_PASSWORD: 'secret',
      KAFKA_TLS: 'true',
      KAFKA_TLS_CA_FILE: pem,
    });
    expect(config).toMatchObject({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_TLS: true,
      KAFKA_TLS_CA_FILE: pem,
    });
  });

  it('lists a mechanism without credentials, a certificate without key and an unreadable file at once', () => {
    const found = problems({
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_TLS: 'true',
      KAFKA_TLS_CA_FILE: join(dir, 'missing.pem'),
      KAFKA_TLS_CERT_FILE: pem,
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^KAFKA_TLS_CA_FILE: not a readable file/),
        expect.stringMatching(/^KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM=scram-sha-256/),
        expect.stringMatching(/^KAFKA_SASL_PASSWORD: required/),
        expect.stringMatching(/^KAFKA_TLS_KEY_FILE: a client certificate needs both/),
      ]),
    );
    expect(found).toHaveLength(4);
  });

  it('still lists the security problems when another variable is bad too', () => {
    const found = problems({ OTHER_PORT: 'x', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' });
    expect(found).toEqual([
      expect.stringMatching(/^OTHER_PORT:/),
      expect.stringMatching(/^KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM=plain/),
    ]);
  });

  it('refuses an unknown mechanism, credentials without a mechanism, and TLS files while TLS is off', () => {
    expect(problems({ KAFKA_SASL_MECHANISM: 'gssapi' })).toEqual([
      expect.stringMatching(/^KAFKA_SASL_MECHANISM:/),
    ]);
    expect(problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'KAFKA_SASL_USERNAME: set, but KAFKA_SASL_MECHANISM is none: choose a mechanism',
      'KAFKA_SASL_PASSWORD: set, but KAFKA_SASL_MECHANISM is none: choose a mechanism',
    ]);
    expect(problems({ KAFKA_TLS_CA_FILE: pem })).toEqual([
      'KAFKA_TLS_CA_FILE: set, but KAFKA_TLS is false: set KAFKA_TLS=true',
    ]);
  });
});

import { kafkaSecurityFromConfig, type KafkaSecurityConfig } from './kafka-security';

const plain: KafkaSecurityConfig = { KAFKA_SASL_MECHANISM: 'none', KAFKA_TLS: false };
const files: Record<string, string> = { '/ca.pem': 'CA', '/client.pem': 'CERT', '/client.key': 'KEY' };
const read = (path: string) => {
  const content = files[path];
  if (content === undefined) throw new Error(`no such file ${path}`);
  return content;
};

describe('kafkaSecurityFromConfig', () => {
  it('adds nothing for a plaintext, unauthenticated broker', () => {
    expect(kafkaSecurityFromConfig(plain, read)).toEqual({});
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)(
    'passes %s credentials to kafkajs',
    (mechanism) => {
      expect(
        kafkaSecurityFromConfig(
          {
            ...plain,
            KAFKA_SASL_MECHANISM: mechanism,
            KAFKA_SASL_USERNAME: 'gateway',
            KAFKA_SASL_PASSWORD: 'pw',
          },
          read,
        ),
      ).toEqual({ sasl: { mechanism, username: 'gateway', password: 'pw' } });
    },
  );

  it('verifies the brokers with the system CAs when TLS has no CA file', () => {
    expect(kafkaSecurityFromConfig({ ...plain, KAFKA_TLS: true }, read)).toEqual({ ssl: true });
  });

  it('reads the CA, and the client certificate and key for mutual TLS', () => {
    expect(
      kafkaSecurityFromConfig(
        {
          ...plain,
          KAFKA_TLS: true,
          KAFKA_TLS_CA_FILE: '/ca.pem',
          KAFKA_TLS_CERT_FILE: '/client.pem',
          KAFKA_TLS_KEY_FILE: '/client.key',
        },
        read,
      ),
    ).toEqual({ ssl: { ca: ['CA'], cert: 'CERT', key: 'KEY' } });
  });

  it('combines SASL with TLS, as managed clusters expect (SASL_SSL)', () => {
    expect(
      kafkaSecurityFromConfig(
        {
          KAFKA_SASL_MECHANISM: 'scram-sha-512',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: 'p',
          KAFKA_TLS: true,
          KAFKA_TLS_CA_FILE: '/ca.pem',
        },
        read,
      ),
    ).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' }, ssl: { ca: ['CA'] } });
  });

  it('refuses half a configuration rather than connecting without it', () => {
    expect(() =>
      kafkaSecurityFromConfig({ ...plain, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }, read),
    ).toThrow(/needs a username and a password/);
    expect(() =>
      kafkaSecurityFromConfig({ ...plain, KAFKA_TLS: true, KAFKA_TLS_CERT_FILE: '/client.pem' }, read),
    ).toThrow(/both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE/);
  });

  it('ignores TLS files while TLS is off (the configuration refuses that combination before)', () => {
    expect(kafkaSecurityFromConfig({ ...plain, KAFKA_TLS_CA_FILE: '/ca.pem' }, read)).toEqual({});
  });
});

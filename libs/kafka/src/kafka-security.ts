import type { SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';

// How a client authenticates to the brokers and encrypts its connections, as kafkajs takes it. Every Kafka client
// of the system (services, the ledger client and command server, test and tool clients) gets it from here.

/** The validated KAFKA_SASL_* and KAFKA_TLS_* variables (libs/config kafkaConfigSchema). */
export interface KafkaSecurityConfig {
  KAFKA_SASL_MECHANISM: 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_TLS: boolean;
  KAFKA_TLS_CA_FILE?: string | undefined;
  KAFKA_TLS_CERT_FILE?: string | undefined;
  KAFKA_TLS_KEY_FILE?: string | undefined;
}

/** Spread into kafkajs's client config; an empty object is a plaintext, unauthenticated connection. */
export interface KafkaSecurity {
  sasl?: SASLOptions;
  ssl?: true | ConnectionOptions;
}

/**
 * The kafkajs `sasl` and `ssl` options of a configuration. `readFile` reads the PEM files (the config has already
 * checked that they are readable); with TLS and no CA file, Node's bundled CAs verify the brokers.
 */
export function kafkaSecurityFromConfig(
  config: KafkaSecurityConfig,
  readFile: (path: string) => string | Buffer,
): KafkaSecurity {
  const security: KafkaSecurity = {};
  if (config.KAFKA_SASL_MECHANISM !== 'none') {
    const { KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
    if (!username || !password)
      throw new Error(`KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM} needs a username and a password`);
    security.sasl = { mechanism: config.KAFKA_SASL_MECHANISM, username, password };
  }
  if (config.KAFKA_TLS) {
    const tls: ConnectionOptions = {};
    if (config.KAFKA_TLS_CA_FILE) tls.ca = [readFile(config.KAFKA_TLS_CA_FILE)];
    if (config.KAFKA_TLS_CERT_FILE || config.KAFKA_TLS_KEY_FILE) {
      if (!config.KAFKA_TLS_CERT_FILE || !config.KAFKA_TLS_KEY_FILE)
        throw new Error('a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE');
      tls.cert = readFile(config.KAFKA_TLS_CERT_FILE);
      tls.key = readFile(config.KAFKA_TLS_KEY_FILE);
    }
    security.ssl = Object.keys(tls).length ? tls : true;
  }
  return security;
}

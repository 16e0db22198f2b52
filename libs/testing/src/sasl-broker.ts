import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The local broker that authenticates (SCRAM-SHA-512) and authorizes (deploy/kafka/acls.sh), beside the plain one:
// deploy/local/kafka.sh --sasl. Its ACLs are those of an unprefixed stack, so suites on it use no topic prefix.

const root = join(__dirname, '../../..');
const kafkaScript = join(root, 'deploy/local/kafka.sh');

export const SASL_KAFKA_BROKER = `127.0.0.1:${process.env['KAFKA_SASL_PORT'] ?? '9094'}`;

/**
 * Starts the SASL broker unless it runs (the first start formats it, creates its users and applies the ACLs: a
 * minute or two). Returns what stops it again, which does nothing when it was already running.
 */
export function ensureSaslBroker(): () => void {
  try {
    execFileSync(kafkaScript, ['--sasl', 'status'], { stdio: 'ignore' });
    return () => undefined;
  } catch {
    execFileSync(kafkaScript, ['--sasl', 'start'], { stdio: 'inherit', timeout: 540_000 });
    return () => execFileSync(kafkaScript, ['--sasl', 'stop'], { stdio: 'inherit' });
  }
}

/** The KAFKA_* variables that connect a client to the SASL broker as one of its users. */
export function saslClientEnv(principal: string): Record<string, string> {
  return {
    KAFKA_BROKERS: SASL_KAFKA_BROKER,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: principal,
    KAFKA_SASL_PASSWORD: readFileSync(
      join(root, '.local/kafka-sasl/users', `${principal}.password`),
      'utf8',
    ).trim(),
  };
}

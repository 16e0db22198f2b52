import { envInt } from '@deliberate/config';
import type { KafkaSecurity } from '@deliberate/kafka';
import { z } from 'zod';

export interface LedgerClientOptions {
  brokers: string[];
  /** SASL and TLS towards the brokers, as the service's own Kafka client has them (kafkaSecurityOf). */
  security?: KafkaSecurity | undefined;
  /** Names the calling service; also the default reply consumer group. */
  clientId: string;
  /** KAFKA_TOPIC_PREFIX of the stack: the ledger serves its commands under the same prefix. */
  topicPrefix: string;
  /** How long to wait for an answer; default 5000 ms. A reserve that gets none in time is a denial. */
  timeoutMs?: number;
  /**
   * The group that reads replies; default `<prefix>deliberate.<clientId>.ledger-replies`. Instances of one service
   * share it and split the reply partitions, so at most LEDGER_COMMAND_PARTITIONS instances per group.
   */
  replyGroupId?: string;
  /** The reply group is this process's alone (one per start, e.g. named after the instance): deleted on close. */
  ephemeralReplyGroup?: boolean;
  /** Create the command and reply topics at start if missing (auto-creation is off); default true. */
  createTopics?: boolean;
  replicationFactor?: number;
}

export const LEDGER_CLIENT_OPTIONS = Symbol('LEDGER_CLIENT_OPTIONS');

export const DEFAULT_LEDGER_TIMEOUT_MS = 5_000;

/** Environment of a service that calls the ledger, to compose into its config.ts. */
export const ledgerClientConfigSchema = z.object({
  LEDGER_TIMEOUT_MS: envInt(DEFAULT_LEDGER_TIMEOUT_MS, 100, 120_000),
});
export type LedgerClientConfig = z.infer<typeof ledgerClientConfigSchema>;

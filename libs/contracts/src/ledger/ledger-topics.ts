import { LEDGER_PATTERNS, ledgerReplyTopic } from './ledger-commands';

// Request and reply topics of the ledger's commands. Auto-creation is off, so the ledger and every client create
// them at start. A client group's instances split the reply partitions: at most this many wait for answers at once.
export const LEDGER_COMMAND_PARTITIONS = 6;

export interface LedgerCommandTopic {
  topic: string;
  partitions: number;
}

/** Every request topic and its `.reply` topic, under a topic prefix. */
export function ledgerCommandTopics(topicPrefix: string): LedgerCommandTopic[] {
  return Object.values(LEDGER_PATTERNS).flatMap((pattern) => [
    { topic: `${topicPrefix}${pattern}`, partitions: LEDGER_COMMAND_PARTITIONS },
    { topic: ledgerReplyTopic(`${topicPrefix}${pattern}`), partitions: LEDGER_COMMAND_PARTITIONS },
  ]);
}

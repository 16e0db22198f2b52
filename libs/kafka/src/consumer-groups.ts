import { Logger } from '@nestjs/common';
import type { Kafka } from 'kafkajs';

// A consumer group made for one process (one per start) would outlive it on the broker, with its offsets, until
// the broker's retention drops it: the process deletes it once its consumer has left.

/** Deletes a group whose consumer has stopped. Never throws: a group left behind only costs the broker memory. */
export async function deleteConsumerGroup(kafka: Kafka, groupId: string, logger: Logger): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
    return true;
  } catch (e) {
    const groups = (e as { groups?: { errorCode?: number; error?: { type?: string } }[] }).groups;
    if (groups?.every((g) => g.error?.type === 'GROUP_ID_NOT_FOUND')) return true;
    logger.warn({ msg: 'could not delete the consumer group', groupId, error: (e as Error).message });
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

import { createHash } from 'node:crypto';

// Which completed tasks shadow evaluation samples: a hash of the task id against the policy's rate. The same task is
// sampled or not on every instance and after every redelivery, and the sampled share tends to the rate.

/** The task's place in [0, 1): the first 48 bits of SHA-256 of its id. */
export function samplePoint(taskId: string): number {
  const head = createHash('sha256').update(taskId).digest().readUIntBE(0, 6);
  return head / 2 ** 48;
}

/** True when the task is in the sampled share `rate` (0 < rate ≤ 1). */
export function isShadowSampled(taskId: string, rate: number): boolean {
  return rate >= 1 || samplePoint(taskId) < rate;
}

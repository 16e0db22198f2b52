import type { TaskAccepted, TaskSpec } from '@deliberate/contracts';

// The accepted event carries more than the body: the normalized spec (defaults filled in) and the CloudEvents
// headers. It is measured at admission, so a task whose event Kafka would refuse is answered 413 and never stored.

/** The ce_* and trace headers, the key and the record's framing: a few hundred bytes, rounded up. */
export const EVENT_ENVELOPE_ALLOWANCE_BYTES = 2_048;

export function acceptedEventBytes(spec: TaskSpec, submittedVia: TaskAccepted['submittedVia']): number {
  const data: TaskAccepted = { spec, submittedVia, acceptedAt: new Date(0).toISOString() };
  return Buffer.byteLength(JSON.stringify(data)) + EVENT_ENVELOPE_ALLOWANCE_BYTES;
}

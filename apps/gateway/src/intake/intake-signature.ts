import { INTAKE_SIGNATURE_HEADERS, matchStandardWebhookSignature } from '@deliberate/contracts';

// Whether a submission on the intake topic was signed for the tenant it names. The tenant id picks the keys, so
// a signature made with another tenant's secret matches nothing; the task id is the signed id, so a signature
// cannot be moved to another task; the timestamp is compared with the message's Kafka timestamp, not with the
// consumer's clock, so a gateway that was down or lagging does not turn valid submissions stale.

export interface IntakeKey {
  id: string;
  key: Buffer;
}

export interface SignedSubmission {
  tenantId: string;
  taskId: string;
  value: Buffer;
  headers: Readonly<Record<string, string>>;
  messageTimestampMs: number;
}

export type IntakeVerdict = { ok: true; secretId: string } | { ok: false; reason: string };

const TIMESTAMP = INTAKE_SIGNATURE_HEADERS.timestamp;
const SIGNATURE = INTAKE_SIGNATURE_HEADERS.signature;

export function verifyIntakeSignature(
  submission: SignedSubmission,
  keys: readonly IntakeKey[],
  toleranceMs: number,
): IntakeVerdict {
  const { tenantId, taskId, headers } = submission;
  const timestamp = headers[TIMESTAMP];
  const signature = headers[SIGNATURE];
  if (timestamp === undefined && signature === undefined) {
    return fail(
      `unsigned submission: the ${TIMESTAMP} and ${SIGNATURE} headers are required (tenant '${tenantId}')`,
    );
  }
  if (timestamp === undefined) return fail(`missing ${TIMESTAMP} header (epoch seconds of the signature)`);
  if (signature === undefined) return fail(`missing ${SIGNATURE} header ('v1,<base64 HMAC-SHA256>')`);
  if (!/^\d{1,12}$/.test(timestamp)) {
    return fail(`${TIMESTAMP} must be epoch seconds, got '${timestamp.slice(0, 40)}'`);
  }
  if (keys.length === 0) {
    return fail(
      `tenant '${tenantId}' has no valid intake secret; issue one with POST /v1/admin/tenants/${tenantId}/intake-secrets`,
    );
  }
  const signedAt = Number(timestamp);
  const referenceMs =
    Number.isFinite(submission.messageTimestampMs) && submission.messageTimestampMs > 0
      ? submission.messageTimestampMs
      : Date.now();
  const skewSeconds = signedAt - Math.floor(referenceMs / 1000);
  if (Math.abs(skewSeconds) * 1000 > toleranceMs) {
    return fail(
      `stale signature: ${TIMESTAMP} is ${Math.abs(skewSeconds)} s ${skewSeconds < 0 ? 'before' : 'after'} the message's timestamp (tolerance ${Math.floor(toleranceMs / 1000)} s)`,
    );
  }
  const index = matchStandardWebhookSignature(
    keys.map((k) => k.key),
    taskId,
    signedAt,
    submission.value,
    signature,
  );
  if (index === null) {
    return fail(
      `no signature matches an intake secret of tenant '${tenantId}' (signed content: task id, ${TIMESTAMP}, message value)`,
    );
  }
  return { ok: true, secretId: keys[index]!.id };
}

const fail = (reason: string): IntakeVerdict => ({ ok: false, reason });

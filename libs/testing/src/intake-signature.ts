import { INTAKE_SIGNATURE_HEADERS, signingKey, signStandardWebhook } from '@deliberate/contracts';

/**
 * The headers that sign a submission on tasks.task.submitted.v1 for its tenant, as an upstream producer sends
 * them: one signature per secret given, over `${taskId}.${timestampSeconds}.${value}`.
 */
export function signedIntakeHeaders(
  secrets: string | readonly string[],
  taskId: string,
  value: string | Buffer,
  timestampSeconds = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const keys = (typeof secrets === 'string' ? [secrets] : secrets).map(signingKey);
  return {
    [INTAKE_SIGNATURE_HEADERS.timestamp]: String(timestampSeconds),
    [INTAKE_SIGNATURE_HEADERS.signature]: keys
      .map((k) => signStandardWebhook(k, taskId, timestampSeconds, value))
      .join(' '),
  };
}

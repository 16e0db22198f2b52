import { generateSigningSecret, signingKey, signStandardWebhook } from '@deliberate/contracts';

// The webhook side of the Standard Webhooks scheme in libs/contracts: its secrets and its three headers.

/** A fresh signing secret, `whsec_<base64 of 32 random bytes>`, as the standardwebhooks libraries read it. */
export const generateSecret = generateSigningSecret;

export const secretKey = signingKey;

/** The three Standard Webhooks headers; with several keys (a rotation's overlap), one signature per key. */
export function signatureHeaders(
  keys: readonly Buffer[],
  messageId: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': keys.map((k) => signStandardWebhook(k, messageId, timestampSeconds, body)).join(' '),
  };
}

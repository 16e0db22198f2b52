import { createHash } from 'node:crypto';
import type { reserveRequestSchema } from '@deliberate/contracts';
import type { z } from 'zod';

// A reservation key names one paid call's hold. A retry of that call asks for the same thing; anything else under the
// same key is a caller's mistake, told apart by this fingerprint of what was asked (the ttl is not part of it: a
// retry may ask for a shorter one as its deadline nears).
export function reserveFingerprint(req: z.output<typeof reserveRequestSchema>): string {
  const asked = [
    req.taskId,
    req.apiKeyId,
    req.project,
    req.model,
    req.estimatedInputTokens,
    req.maxOutputTokens,
    req.taskCeilingMicroUsd,
    // Only when set, so the fingerprints of live holds stay what they were.
    ...(req.shadow ? ['shadow'] : []),
  ];
  return createHash('sha256').update(JSON.stringify(asked)).digest('base64url');
}

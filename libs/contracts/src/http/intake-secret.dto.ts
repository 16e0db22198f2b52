import { z } from 'zod';

// Intake secrets sign a tenant's submissions on tasks.task.submitted.v1 (see INTAKE_SIGNATURE_HEADERS).

const MAX_OVERLAP_SECONDS = 30 * 24 * 3600;

export const issueIntakeSecretRequestSchema = z.strictObject({
  /**
   * How long the tenant's current secrets stay valid beside the new one; default GATEWAY_INTAKE_SECRET_OVERLAP_MS
   * (24 h). 0 retires them at once.
   */
  overlapSeconds: z.int().min(0).max(MAX_OVERLAP_SECONDS).optional(),
});
export type IssueIntakeSecretRequest = z.infer<typeof issueIntakeSecretRequestSchema>;

export const intakeSecretResponseSchema = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  /** The secret's first characters, to tell secrets apart. */
  prefix: z.string(),
  createdAt: z.iso.datetime(),
  /** Set when a newer secret replaced this one: it verifies until then. */
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  status: z.enum(['active', 'expiring', 'expired', 'revoked']),
});
export type IntakeSecretResponse = z.infer<typeof intakeSecretResponseSchema>;

/** Returned once, at issue: `whsec_<base64>`, the Standard Webhooks secret format. */
export const intakeSecretWithSecretResponseSchema = intakeSecretResponseSchema.extend({ secret: z.string() });
export type IntakeSecretWithSecretResponse = z.infer<typeof intakeSecretWithSecretResponseSchema>;

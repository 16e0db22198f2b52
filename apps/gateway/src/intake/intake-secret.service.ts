import {
  type IntakeSecretResponse,
  type IntakeSecretWithSecretResponse,
  generateSigningSecret,
  signingKey,
  uuidv7,
} from '@deliberate/contracts';
import { PermanentError } from '@deliberate/kafka';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { IntakeSecretRepository } from './intake-secret.repository';
import { type SignedSubmission, verifyIntakeSignature } from './intake-signature';

// Issues, lists and revokes a tenant's intake secrets, and decides whether a Kafka submission was signed with one.
@Injectable()
export class IntakeSecretService {
  constructor(
    private readonly repository: IntakeSecretRepository,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async issue(tenantId: string, overlapSeconds: number | undefined): Promise<IntakeSecretWithSecretResponse> {
    const secret = generateSigningSecret();
    const overlapMs =
      overlapSeconds === undefined ? this.config.GATEWAY_INTAKE_SECRET_OVERLAP_MS : overlapSeconds * 1000;
    const stored = await this.repository.issue(
      { id: uuidv7(), tenantId, secret, prefix: secret.slice(0, 12) },
      overlapMs,
    );
    if (!stored) throw new NotFoundException(`tenant '${tenantId}' not found`);
    return { ...stored, secret };
  }

  async list(tenantId: string): Promise<IntakeSecretResponse[]> {
    const secrets = await this.repository.list(tenantId);
    if (secrets.length === 0 && !(await this.repository.tenantExists(tenantId)))
      throw new NotFoundException(`tenant '${tenantId}' not found`);
    return secrets;
  }

  async revoke(tenantId: string, id: string): Promise<IntakeSecretResponse> {
    const revoked = await this.repository.revoke(tenantId, id);
    if (!revoked) throw new NotFoundException(`intake secret '${id}' not found for tenant '${tenantId}'`);
    return revoked;
  }

  /** Throws a PermanentError with the reason unless the submission is signed with a valid secret of its tenant. */
  async authenticate(submission: SignedSubmission): Promise<void> {
    const secrets = await this.repository.validSecrets(submission.tenantId);
    const verdict = verifyIntakeSignature(
      submission,
      secrets.map((s) => ({ id: s.id, key: signingKey(s.secret) })),
      this.config.GATEWAY_INTAKE_SIGNATURE_TOLERANCE_MS,
    );
    if (!verdict.ok) throw new PermanentError(verdict.reason);
  }
}

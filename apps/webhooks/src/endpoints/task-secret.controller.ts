import {
  type Principal,
  rotateWebhookSecretRequestSchema,
  type TaskWebhookSecretResponse,
  type TaskWebhookSecretWithSecretResponse,
} from '@deliberate/contracts';
import { Allow, CurrentPrincipal, resolveTenant, ZodBodyPipe, ZodQueryPipe } from '@deliberate/http';
import {
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Post,
  Query,
} from '@nestjs/common';
import type { z } from 'zod';
import { WEBHOOKS_CONFIG, type WebhooksConfig } from '../config';
import type { ColumnCipher } from '@deliberate/persistence';
import { WEBHOOK_SECRET_CIPHER } from '../signing/secrets-at-rest';
import { taskSecretContext } from '../signing/signing-secret.repository';
import { generateSecret } from '../signing/webhook-signature';
import { TaskSecretRepository, type TaskSecretRow } from './task-secret.repository';
import { tenantQuerySchema, type TenantQuery } from './tenant-query';

const toResponse = (r: TaskSecretRow): TaskWebhookSecretResponse => ({
  tenantId: r.tenant_id,
  createdAt: r.created_at.toISOString(),
  secretRotatedAt: r.secret_rotated_at?.toISOString() ?? null,
  previousSecretExpiresAt: r.previous_secret_expires_at?.toISOString() ?? null,
});

// The tenant's secret for deliveries to tasks' own webhookUrl (registered endpoints each have their own).
@Controller('v1/webhooks/task-secret')
export class TaskSecretController {
  constructor(
    private readonly secrets: TaskSecretRepository,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: ColumnCipher,
  ) {}

  @Get()
  @Allow('admin', 'auditor', 'platform-admin')
  async get(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
  ): Promise<TaskWebhookSecretResponse> {
    const tenantId = resolveTenant(principal, query.tenantId);
    const row = await this.secrets.find(tenantId);
    if (!row)
      throw new NotFoundException(
        `tenant '${tenantId}' has no task webhook secret; create one with POST /v1/webhooks/task-secret`,
      );
    return toResponse(row);
  }

  @Post()
  @Allow('admin', 'platform-admin')
  async create(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
  ): Promise<TaskWebhookSecretWithSecretResponse> {
    const tenantId = resolveTenant(principal, query.tenantId);
    const secret = generateSecret();
    const row = await this.secrets.insert(tenantId, this.cipher.encrypt(secret, taskSecretContext(tenantId)));
    if (!row) {
      throw new ConflictException(
        `tenant '${tenantId}' already has a task webhook secret; rotate it with POST /v1/webhooks/task-secret/rotate`,
      );
    }
    return { ...toResponse(row), secret };
  }

  @Post('rotate')
  @HttpCode(200)
  @Allow('admin', 'platform-admin')
  async rotate(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodQueryPipe(tenantQuerySchema)) query: TenantQuery,
    @Body(new ZodBodyPipe(rotateWebhookSecretRequestSchema, { optional: true }))
    body: z.output<typeof rotateWebhookSecretRequestSchema> | undefined,
  ): Promise<TaskWebhookSecretWithSecretResponse> {
    const tenantId = resolveTenant(principal, query.tenantId);
    const secret = generateSecret();
    const overlapMs =
      body?.overlapSeconds === undefined
        ? this.config.WEBHOOKS_SECRET_OVERLAP_MS
        : body.overlapSeconds * 1000;
    const row = await this.secrets.rotate(
      tenantId,
      this.cipher.encrypt(secret, taskSecretContext(tenantId)),
      overlapMs,
    );
    if (!row)
      throw new NotFoundException(
        `tenant '${tenantId}' has no task webhook secret; create one with POST /v1/webhooks/task-secret`,
      );
    return { ...toResponse(row), secret };
  }
}

import {
  type CancelTaskRequest,
  cancelTaskRequestSchema,
  taskCancelRequestedEvent,
  isTerminal,
  type TaskAcceptedResponse,
  type TaskResponse,
  type TaskStatus,
  taskSubmissionSchema,
  UUID_PATTERN,
} from '@deliberate/contracts';
import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Post,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import type { z } from 'zod';
import type { Principal } from '../auth/principal';
import { EventPublisher } from '@deliberate/kafka';
import { Allow, CurrentPrincipal, ZodBodyPipe } from '@deliberate/http';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { ReviewService } from '../reviews/review.service';
import { acceptedEventBytes } from './accepted-event-size';
import { toTaskResponse } from './task-record';
import { TaskAdmissionService, toTaskSpec } from './task-admission.service';
import { TaskRepository } from './task.repository';

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

// How soon a poll is worth repeating, by status: reasoning takes tens of seconds, the fast path about one.
const RETRY_AFTER_S: Partial<Record<TaskStatus, number>> = {
  accepted: 1,
  triaging: 1,
  queued_for_reasoning: 5,
  reasoning: 5,
  needs_human: 60,
};

function tenantOf(principal: Principal): string {
  if (principal.kind !== 'tenant') {
    throw new ForbiddenException('the platform admin key manages tenants; use a tenant API key for tasks');
  }
  return principal.tenantId;
}

@Controller('v1/tasks')
export class TasksController {
  constructor(
    private readonly admission: TaskAdmissionService,
    private readonly tasks: TaskRepository,
    private readonly reviews: ReviewService,
    private readonly publisher: EventPublisher,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post()
  @HttpCode(202)
  @Allow('submitter', 'admin')
  async submit(
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body(new ZodBodyPipe(taskSubmissionSchema)) body: z.output<typeof taskSubmissionSchema>,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskAcceptedResponse> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new BadRequestException(
        'Idempotency-Key must be 1-255 printable ASCII characters without spaces',
      );
    }
    // The body fit the body limit, but the event carries more: a task Kafka cannot carry is never stored.
    const apiKeyId = principal.kind === 'tenant' ? principal.keyId : null;
    const eventBytes = acceptedEventBytes(toTaskSpec(body, apiKeyId), 'http');
    if (eventBytes > this.config.KAFKA_MAX_MESSAGE_BYTES) {
      throw new PayloadTooLargeException(
        `the task's event would take ${eventBytes} bytes, above the Kafka message limit of ${this.config.KAFKA_MAX_MESSAGE_BYTES} bytes; send less context`,
      );
    }
    const { task, replayed } = await this.admission.admitHttp(
      tenantOf(principal),
      body,
      idempotencyKey ?? null,
      apiKeyId,
    );
    const location = `/v1/tasks/${task.id}`;
    res.setHeader('Location', location);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return { id: task.id, status: task.status, location };
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @Allow('submitter', 'admin')
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodBodyPipe(cancelTaskRequestSchema, { optional: true })) body: CancelTaskRequest | undefined,
  ): Promise<{ id: string; status: TaskStatus; cancellation: 'requested' }> {
    const tenantId = tenantOf(principal);
    const task = UUID_PATTERN.test(id) ? await this.tasks.findForTenant(tenantId, id) : null;
    if (!task) throw new NotFoundException(`task ${id} not found`);
    if (isTerminal(task.status)) throw new ConflictException(`task ${id} is already ${task.status}`);
    const reason = body?.reason ?? 'cancelled by the client';
    if (task.status === 'needs_human') await this.reviews.cancelWaiting(tenantId, id, reason);
    else {
      await this.publisher.publish(taskCancelRequestedEvent, {
        tenantId,
        taskId: id,
        data: {
          requestedBy: principal.kind === 'tenant' ? principal.keyId : principal.kind,
          reason,
          requestedAt: new Date().toISOString(),
        },
      });
    }
    return { id, status: task.status, cancellation: 'requested' };
  }

  @Get(':id')
  @Allow('submitter', 'auditor', 'admin', 'reviewer')
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskResponse> {
    const tenantId = tenantOf(principal);
    // Malformed ids get the same 404 as another tenant's: the answer must not reveal what exists.
    const task = UUID_PATTERN.test(id) ? await this.tasks.findForTenant(tenantId, id) : null;
    // A reviewer reads the tasks a human was asked about (waiting, or answered since), and no other.
    const hidden = principal.kind === 'tenant' && principal.role === 'reviewer' && !task?.escalation;
    if (!task || hidden) throw new NotFoundException(`task ${id} not found`);
    if (!isTerminal(task.status)) {
      res.setHeader('Retry-After', String(RETRY_AFTER_S[task.status] ?? 5));
    }
    return toTaskResponse(task);
  }
}

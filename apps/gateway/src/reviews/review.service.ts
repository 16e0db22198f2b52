import { type ReviewItem, taskCancelledEvent, taskCompletedEvent } from '@deliberate/contracts';
import { EventPublisher } from '@deliberate/kafka';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { type TaskRecord, toTaskResponse } from '../tasks/task-record';
import { TaskRepository } from '../tasks/task.repository';
import { type ReviewClaim, ReviewRepository } from './review.repository';

const toClaim = (c: ReviewClaim | null): ReviewItem['claim'] =>
  c
    ? {
        reviewerKeyId: c.reviewerKeyId,
        claimedAt: c.claimedAt.toISOString(),
        expiresAt: c.expiresAt.toISOString(),
      }
    : null;

const questionOf = (task: TaskRecord): ReviewItem['question'] => ({
  input: task.spec.input,
  context: task.spec.context,
});

// The last link of the fallback chain: tasks the models could not answer wait here for a person.
// A reviewer claims a task (so two people do not answer it), then answers; the answer completes the task.
@Injectable()
export class ReviewService {
  constructor(
    private readonly reviews: ReviewRepository,
    private readonly tasks: TaskRepository,
    private readonly publisher: EventPublisher,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async queue(tenantId: string, limit: number): Promise<ReviewItem[]> {
    return (await this.reviews.queue(tenantId, limit)).map(({ task, claim }) => ({
      task: toTaskResponse(task),
      question: questionOf(task),
      claim: toClaim(claim),
    }));
  }

  async claim(tenantId: string, taskId: string, reviewerKeyId: string): Promise<ReviewItem> {
    const task = await this.awaitingReview(tenantId, taskId);
    const claim = await this.reviews.claim(
      tenantId,
      taskId,
      reviewerKeyId,
      this.config.GATEWAY_REVIEW_CLAIM_TTL_MS,
    );
    if (!claim) {
      const held = await this.reviews.liveClaim(taskId);
      throw new ConflictException(
        `task ${taskId} is claimed by another reviewer until ${held?.expiresAt.toISOString() ?? 'shortly'}`,
      );
    }
    return { task: toTaskResponse(task), question: questionOf(task), claim: toClaim(claim) };
  }

  async answer(tenantId: string, taskId: string, reviewerKeyId: string, answer: string): Promise<void> {
    const task = await this.awaitingReview(tenantId, taskId);
    const claim = await this.reviews.liveClaim(taskId);
    if (!claim || claim.reviewerKeyId !== reviewerKeyId) {
      throw new ConflictException(
        `claim task ${taskId} before answering it (POST /v1/reviews/${taskId}/claim)`,
      );
    }
    await this.publisher.publish(taskCompletedEvent, {
      tenantId,
      taskId,
      data: {
        result: {
          answer,
          answeredBy: 'human',
          model: null,
          usage: null,
          latencyMs: Math.max(0, Date.now() - task.createdAt.getTime()),
          degraded: null,
        },
        completedAt: new Date().toISOString(),
        review: { reviewerKeyId, claimedAt: claim.claimedAt.toISOString() },
      },
    });
    await this.reviews.release(taskId);
  }

  /** A task waiting for a human has no executor to abort: cancelling it is the gateway's own job. */
  async cancelWaiting(tenantId: string, taskId: string, reason: string): Promise<void> {
    await this.publisher.publish(taskCancelledEvent, {
      tenantId,
      taskId,
      data: { reason, usage: null, cancelledAt: new Date().toISOString() },
    });
    await this.reviews.release(taskId);
  }

  private async awaitingReview(tenantId: string, taskId: string) {
    const task = await this.tasks.findForTenant(tenantId, taskId);
    if (!task) throw new NotFoundException(`task ${taskId} not found`);
    if (task.status !== 'needs_human') {
      throw new ConflictException(`task ${taskId} is ${task.status}, not waiting for review`);
    }
    return task;
  }
}

import {
  type ReviewItem,
  reviewAnswerRequestSchema,
  type ReviewAnswerRequest,
  UUID_PATTERN,
} from '@deliberate/contracts';
import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { Allow, CurrentPrincipal, ZodBodyPipe } from '@deliberate/http';
import { ReviewService } from './review.service';

function reviewer(principal: Principal): { tenantId: string; keyId: string } {
  if (principal.kind !== 'tenant')
    throw new ForbiddenException('reviews belong to a tenant; use a tenant reviewer key');
  return { tenantId: principal.tenantId, keyId: principal.keyId };
}

function taskId(id: string): string {
  if (!UUID_PATTERN.test(id)) throw new NotFoundException(`task ${id} not found`);
  return id;
}

@Controller('v1/reviews')
export class ReviewsController {
  constructor(private readonly reviews: ReviewService) {}

  @Get()
  @Allow('reviewer', 'admin')
  queue(@CurrentPrincipal() principal: Principal, @Query('limit') limit?: string): Promise<ReviewItem[]> {
    const n = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500)
      throw new BadRequestException('limit must be an integer from 1 to 500');
    return this.reviews.queue(reviewer(principal).tenantId, n);
  }

  @Post(':id/claim')
  @Allow('reviewer', 'admin')
  claim(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<ReviewItem> {
    const who = reviewer(principal);
    return this.reviews.claim(who.tenantId, taskId(id), who.keyId);
  }

  @Post(':id/answer')
  @HttpCode(202)
  @Allow('reviewer', 'admin')
  async answer(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodBodyPipe(reviewAnswerRequestSchema)) body: ReviewAnswerRequest,
  ): Promise<{ id: string; status: 'answered' }> {
    const who = reviewer(principal);
    await this.reviews.answer(who.tenantId, taskId(id), who.keyId, body.answer);
    return { id, status: 'answered' };
  }
}

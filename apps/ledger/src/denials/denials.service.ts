import {
  type BudgetDeniedAction,
  type DenialList,
  type DenialsQuery,
  encodeDenialCursor,
  type ReserveReply,
  type reserveRequestSchema,
  uuidv7,
} from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable, Logger } from '@nestjs/common';
import type { z } from 'zod';
import { LedgerMetrics } from '../metrics/ledger-metrics';
import { DenialRepository } from './denial.repository';

type ReserveDenial = Extract<ReserveReply, { approved: false }>;

/** A refused reservation as the spend view lists it: the request, the verdict and what the call would have held. */
export interface RefusedReserve {
  request: z.output<typeof reserveRequestSchema>;
  requestId: string | null;
  denial: ReserveDenial;
  /** The worst case priced for the call; null when it could not be priced. */
  estimatedCostMicroUsd: number | null;
  /** What the tenant's policy has callers do after this denial; null when it is no budget denial (no_price). */
  onDenied: BudgetDeniedAction | null;
}

// Bounded like every stored text: a denial's message quotes the breaker's, which is bounded too, but a row need not
// trust that.
const MAX_MESSAGE_CHARS = 2_000;

@Injectable()
export class DenialsService {
  private readonly logger = new Logger(DenialsService.name);

  constructor(
    private readonly sql: Sql,
    private readonly denials: DenialRepository,
    private readonly metrics: LedgerMetrics,
  ) {}

  /**
   * Records a refusal once per request (a retry under its reservation key, or a redelivery, is the same one). Never
   * throws: the caller is answered with its denial whether or not the record was written.
   */
  async record(refused: RefusedReserve): Promise<void> {
    const { request, denial } = refused;
    try {
      await this.denials.insertIfNew(this.sql, {
        id: uuidv7(),
        requestId: refused.requestId,
        tenantId: request.tenantId,
        reservationKey: request.reservationKey,
        taskId: request.taskId,
        model: request.model,
        tier: request.tier,
        reason: denial.reason,
        message: denial.message.slice(0, MAX_MESSAGE_CHARS),
        onDenied: refused.onDenied,
        estimatedCostMicroUsd: refused.estimatedCostMicroUsd,
        deniedAt: new Date(),
      });
    } catch (e) {
      this.metrics.denialUnrecorded(denial.reason);
      this.logger.error({
        msg: 'denial answered but not recorded',
        error: (e as Error).message,
        tenantId: request.tenantId,
        reason: denial.reason,
      });
    }
  }

  async list(tenantId: string | null, q: DenialsQuery): Promise<DenialList> {
    const rows = await this.denials.list(this.sql, {
      tenantId,
      from: q.from,
      to: q.to,
      reason: q.reason,
      taskId: q.taskId,
      cursor: q.cursor,
      limit: q.limit,
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      denials: page.map((d) => ({
        id: d.id,
        tenantId: d.tenantId,
        reservationKey: d.reservationKey,
        taskId: d.taskId,
        model: d.model,
        tier: d.tier,
        reason: d.reason,
        message: d.message,
        onDenied: d.onDenied,
        estimatedCostMicroUsd: d.estimatedCostMicroUsd,
        deniedAt: d.deniedAt.toISOString(),
      })),
      nextCursor:
        rows.length > q.limit && last ? encodeDenialCursor({ deniedAt: last.deniedAt, id: last.id }) : null,
    };
  }
}

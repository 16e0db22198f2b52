import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import type { TaskRecord } from '../tasks/task-record';
import { TASK_COLUMNS, toTaskRecord, type TaskRow } from '../tasks/task.repository';

export interface ReviewClaim {
  reviewerKeyId: string;
  claimedAt: Date;
  expiresAt: Date;
}

interface ClaimRow {
  reviewer_key_id: string;
  claimed_at: Date;
  expires_at: Date;
}

@Injectable()
export class ReviewRepository {
  constructor(private readonly sql: Sql) {}

  /** Tasks waiting for a human, oldest first, with their live claim if any. */
  async queue(tenantId: string, limit: number): Promise<{ task: TaskRecord; claim: ReviewClaim | null }[]> {
    const rows = await this.sql.query<
      TaskRow & { reviewer_key_id: string | null; claimed_at: Date | null; expires_at: Date | null }
    >(
      `SELECT ${TASK_COLUMNS.replace(/(\w+)/g, 't.$1')}, c.reviewer_key_id, c.claimed_at, c.expires_at
           FROM tasks t LEFT JOIN review_claims c ON c.task_id = t.id AND c.expires_at > now()
          WHERE t.tenant_id = $1 AND t.status = 'needs_human'
          ORDER BY t.updated_at LIMIT $2`,
      [tenantId, limit],
    );
    return rows.map((r) => ({
      task: toTaskRecord(r),
      claim:
        r.reviewer_key_id && r.claimed_at && r.expires_at
          ? { reviewerKeyId: r.reviewer_key_id, claimedAt: r.claimed_at, expiresAt: r.expires_at }
          : null,
    }));
  }

  /** Takes the claim unless another reviewer holds a live one; the holder may renew it. */
  async claim(
    tenantId: string,
    taskId: string,
    reviewerKeyId: string,
    ttlMs: number,
  ): Promise<ReviewClaim | null> {
    const r = await this.sql.maybe<ClaimRow>(
      `INSERT INTO review_claims (task_id, tenant_id, reviewer_key_id, claimed_at, expires_at)
       VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4::double precision / 1000))
       ON CONFLICT (task_id) DO UPDATE SET reviewer_key_id = EXCLUDED.reviewer_key_id,
              claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at
        WHERE review_claims.expires_at <= now() OR review_claims.reviewer_key_id = EXCLUDED.reviewer_key_id
       RETURNING reviewer_key_id, claimed_at, expires_at`,
      [taskId, tenantId, reviewerKeyId, ttlMs],
    );
    return r ? { reviewerKeyId: r.reviewer_key_id, claimedAt: r.claimed_at, expiresAt: r.expires_at } : null;
  }

  async liveClaim(taskId: string): Promise<ReviewClaim | null> {
    const r = await this.sql.maybe<ClaimRow>(
      `SELECT reviewer_key_id, claimed_at, expires_at FROM review_claims WHERE task_id = $1 AND expires_at > now()`,
      [taskId],
    );
    return r ? { reviewerKeyId: r.reviewer_key_id, claimedAt: r.claimed_at, expiresAt: r.expires_at } : null;
  }

  async release(taskId: string): Promise<void> {
    await this.sql.execute(`DELETE FROM review_claims WHERE task_id = $1`, [taskId]);
  }
}

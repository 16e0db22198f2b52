import type { EventEnvelope, TaskCancelRequested } from '@deliberate/contracts';
import { PermanentError } from '@deliberate/kafka';
import { Inject, Injectable } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { ExecutionRepository } from '../execution/execution.repository';
import { ExecutionPool } from '../scheduling/execution-pool';

// A cancel is remembered first, so a request that arrives after it is cancelled on arrival; then an unfinished
// execution is marked. Its call in flight here is aborted at once; one held by another instance is aborted when that
// owner renews its leases; a finished execution ignores the cancel.
@Injectable()
export class CancellationService {
  constructor(
    private readonly repo: ExecutionRepository,
    private readonly pool: ExecutionPool,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  async requestCancel(event: EventEnvelope<TaskCancelRequested>): Promise<void> {
    const taskId = event.taskId;
    if (!taskId) throw new PermanentError('a cancel request needs a task id');
    const request = {
      taskId,
      tenantId: event.tenantId,
      requestedBy: event.data.requestedBy,
      reason: event.data.reason,
      requestedAt: new Date(event.data.requestedAt),
    };
    await this.repo.rememberCancel(request);
    const execution = await this.repo.requestCancel(request);
    if (execution?.owner === this.config.REASONER_INSTANCE_ID) this.pool.cancel(execution.id);
  }
}

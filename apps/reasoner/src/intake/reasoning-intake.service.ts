import { type EventEnvelope, type ReasoningRequested, uuidv7 } from '@deliberate/contracts';
import { PermanentError } from '@deliberate/kafka';
import { Inject, Injectable } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { ExecutionRepository } from '../execution/execution.repository';
import { deadlineFor } from '../execution/task-limits';
import { ExecutionPool } from '../scheduling/execution-pool';

// Intake never waits on a model: it stores the execution (once per task, whatever Kafka redelivers), owned by this
// instance, and hands it to the pool. The offset is committed as soon as the row is.
@Injectable()
export class ReasoningIntakeService {
  constructor(
    private readonly repo: ExecutionRepository,
    private readonly pool: ExecutionPool,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  async accept(event: EventEnvelope<ReasoningRequested>): Promise<void> {
    const taskId = event.taskId;
    if (!taskId) throw new PermanentError('a reasoning request needs a task id');
    const { spec, decision, contextSelection, requestedAt } = event.data;
    const createdAt = new Date();
    const owner = this.config.REASONER_INSTANCE_ID;
    const { execution, created } = await this.repo.insert(
      {
        id: uuidv7(createdAt.getTime()),
        taskId,
        tenantId: event.tenantId,
        spec,
        decision,
        contextSelection,
        requestedAt: new Date(requestedAt),
        createdAt,
        deadlineAt: deadlineFor(spec, createdAt, this.config.REASONER_DEFAULT_DEADLINE_MS),
      },
      owner,
      this.config.REASONER_LEASE_MS,
    );
    // A redelivery: the execution has its owner already, or is claimed once that owner's lease lapses.
    if (!created) return;
    const cancel = await this.repo.applyRememberedCancel(taskId);
    const fresh = {
      execution: cancel
        ? { ...execution, cancelRequestedAt: cancel.at, cancelReason: cancel.reason }
        : execution,
      attempts: [],
    };
    if (!this.pool.submit(execution.id, execution.tenantId, fresh)) {
      // Shutting down: back to the shared pool for another instance.
      await this.repo.release(owner, [execution.id]);
      return;
    }
    // Cancelled before it arrived: it ends now rather than after its turn in the queue.
    if (cancel) this.pool.cancel(execution.id);
  }
}

import { Public } from '@deliberate/http';
import { OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';
import { Controller, Get, Inject } from '@nestjs/common';
import { REASONER_CONFIG, type ReasonerConfig } from '../config';
import { ReasonerLifecycle } from '../reasoner-lifecycle';
import { ExecutionPool, type PoolStats } from '../scheduling/execution-pool';

export interface ReasonerHealth extends PoolStats {
  status: 'ok';
  instanceId: string;
  concurrency: number;
  groupJoins: { intake: number; cancels: number };
  outbox: { deadRows: number };
}

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly sql: Sql,
    private readonly pool: ExecutionPool,
    private readonly lifecycle: ReasonerLifecycle,
    private readonly outbox: OutboxRelay,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  @Get()
  // Dead outbox rows never stop the service: they are counted here for an operator to look at.
  async health(): Promise<ReasonerHealth> {
    await this.sql.ping();
    return {
      status: 'ok',
      instanceId: this.config.REASONER_INSTANCE_ID,
      concurrency: this.config.REASONER_CONCURRENCY,
      ...this.pool.stats(),
      groupJoins: this.lifecycle.groupJoins(),
      outbox: { deadRows: await this.outbox.deadCount() },
    };
  }
}

import { Public } from '@deliberate/http';
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
}

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly sql: Sql,
    private readonly pool: ExecutionPool,
    private readonly lifecycle: ReasonerLifecycle,
    @Inject(REASONER_CONFIG) private readonly config: ReasonerConfig,
  ) {}

  @Get()
  async health(): Promise<ReasonerHealth> {
    await this.sql.ping();
    return {
      status: 'ok',
      instanceId: this.config.REASONER_INSTANCE_ID,
      concurrency: this.config.REASONER_CONCURRENCY,
      ...this.pool.stats(),
      groupJoins: this.lifecycle.groupJoins(),
    };
  }
}

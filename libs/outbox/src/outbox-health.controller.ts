import { Public } from '@deliberate/http';
import { Sql } from '@deliberate/persistence';
import { Controller, Get } from '@nestjs/common';
import { OutboxRelay } from './outbox-relay';

// The /health of a service whose only state worth reporting is its database and its outbox. Dead outbox rows never
// stop the service: they are counted here for an operator to look at.
@Public()
@Controller('health')
export class OutboxHealthController {
  constructor(
    private readonly sql: Sql,
    private readonly outbox: OutboxRelay,
  ) {}

  @Get()
  async health(): Promise<{ status: 'ok'; outbox: { deadRows: number } }> {
    await this.sql.ping();
    return { status: 'ok', outbox: { deadRows: await this.outbox.deadCount() } };
  }
}

import { Public } from '@deliberate/http';
import { OutboxRelay } from '@deliberate/outbox';
import { Controller, Get } from '@nestjs/common';
import { Sql } from '@deliberate/persistence';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly sql: Sql,
    private readonly outbox: OutboxRelay,
  ) {}

  @Get()
  // Dead outbox rows never stop the service: they are counted here for an operator to look at.
  async health(): Promise<{ status: 'ok'; outbox: { deadRows: number } }> {
    await this.sql.ping();
    return { status: 'ok', outbox: { deadRows: await this.outbox.deadCount() } };
  }
}

import { Controller, Get } from '@nestjs/common';
import { Public } from '@deliberate/http';
import { OutboxRelay } from '@deliberate/outbox';
import { Sql } from '@deliberate/persistence';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly sql: Sql,
    private readonly outbox: OutboxRelay,
  ) {}

  // Dead outbox rows never stop the service: they are counted here for an operator to look at.
  @Get()
  async health(): Promise<{ status: 'ok'; outbox: { deadRows: number } }> {
    await this.sql.ping();
    return { status: 'ok', outbox: { deadRows: await this.outbox.deadCount() } };
  }
}

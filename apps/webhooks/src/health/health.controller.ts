import { Public } from '@deliberate/http';
import { OutboxRelay } from '@deliberate/outbox';
import { Controller, Get } from '@nestjs/common';
import { ServiceDatabase } from '@deliberate/persistence';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly database: ServiceDatabase,
    private readonly outbox: OutboxRelay,
  ) {}

  @Get()
  // Dead outbox rows never stop the service: they are counted here for an operator to look at.
  async health(): Promise<{ status: 'ok'; outbox: { deadRows: number } }> {
    await this.database.pool.query('SELECT 1');
    return { status: 'ok', outbox: { deadRows: await this.outbox.deadCount() } };
  }
}

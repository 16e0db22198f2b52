import { Controller, Get } from '@nestjs/common';
import { WebhooksDatabase } from '../persistence/webhooks-database';

@Controller('health')
export class HealthController {
  constructor(private readonly database: WebhooksDatabase) {}

  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await this.database.pool.query('SELECT 1');
    return { status: 'ok' };
  }
}

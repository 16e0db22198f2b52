import { Controller, Get } from '@nestjs/common';
import { ServiceDatabase } from '@deliberate/persistence';

@Controller('health')
export class HealthController {
  constructor(private readonly database: ServiceDatabase) {}

  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await this.database.pool.query('SELECT 1');
    return { status: 'ok' };
  }
}

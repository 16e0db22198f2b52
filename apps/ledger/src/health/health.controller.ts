import { Public } from '@deliberate/http';
import { Controller, Get } from '@nestjs/common';
import { ServiceDatabase } from '@deliberate/persistence';

@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly database: ServiceDatabase) {}

  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await this.database.pool.query('SELECT 1');
    return { status: 'ok' };
  }
}

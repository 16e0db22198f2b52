import { Public } from '@deliberate/http';
import { Controller, Get } from '@nestjs/common';
import { Sql } from '@deliberate/persistence';

@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly sql: Sql) {}

  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await this.sql.ping();
    return { status: 'ok' };
  }
}

import { Public } from '@deliberate/http';
import { Controller, Get } from '@nestjs/common';
import { AuditDatabase } from '../persistence/audit-database';

@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly database: AuditDatabase) {}

  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await this.database.pool.query('SELECT 1');
    return { status: 'ok' };
  }
}

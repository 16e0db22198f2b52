import { Controller, Get } from '@nestjs/common';
import { LedgerDatabase } from '../persistence/ledger-database';

@Controller('health')
export class HealthController {
  constructor(private readonly database: LedgerDatabase) {}

  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await this.database.pool.query('SELECT 1');
    return { status: 'ok' };
  }
}

import { Controller, Get } from '@nestjs/common';
import { Public } from '@deliberate/http';
import { DataSource } from 'typeorm';

@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly db: DataSource) {}

  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await this.db.query('SELECT 1');
    return { status: 'ok' };
  }
}

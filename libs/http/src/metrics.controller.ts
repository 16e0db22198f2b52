import { PROMETHEUS_CONTENT_TYPE, ServiceMetrics } from '@deliberate/metrics';
import { Controller, Get, Header } from '@nestjs/common';
import { Public } from './access-decision';

// GET /metrics on the port that serves /health: the service's instruments in the Prometheus text format, for the
// scraper. It carries no tenant's data beyond what a label names (bounded: no task or request ids).
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @Get()
  @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  render(): Promise<string> {
    return this.metrics.render();
  }
}

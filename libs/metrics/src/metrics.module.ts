import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { JobRunMetrics } from './job-run-metrics';
import { ServiceMetrics } from './service-metrics';

class MetricsShutdown implements OnApplicationShutdown {
  constructor(private readonly metrics: ServiceMetrics) {}
  async onApplicationShutdown(): Promise<void> {
    await this.metrics.shutdown();
  }
}

/** Gives every provider of a service its `ServiceMetrics`, whose instruments the service's `/metrics` renders, and the
 * count of its periodic jobs' runs. */
@Global()
@Module({})
export class MetricsModule {
  static forService(serviceName: string): DynamicModule {
    return {
      module: MetricsModule,
      providers: [
        { provide: ServiceMetrics, useValue: new ServiceMetrics(serviceName) },
        {
          provide: MetricsShutdown,
          useFactory: (m: ServiceMetrics) => new MetricsShutdown(m),
          inject: [ServiceMetrics],
        },
        {
          provide: JobRunMetrics,
          useFactory: (m: ServiceMetrics) => new JobRunMetrics(m),
          inject: [ServiceMetrics],
        },
      ],
      exports: [ServiceMetrics, JobRunMetrics],
    };
  }
}

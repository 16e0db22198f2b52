import { ServiceMetrics } from '@deliberate/metrics';
import { Module, type DynamicModule } from '@nestjs/common';
import type { ModelTierConfigs } from './llm-config';
import { ModelClient } from './model-client';

// Global so that any provider of the service can inject ModelClient once the root module imports forRoot.
@Module({})
export class LlmModule {
  static forRoot(tiers: Partial<ModelTierConfigs>): DynamicModule {
    return {
      module: LlmModule,
      global: true,
      providers: [
        {
          provide: ModelClient,
          useFactory: (metrics?: ServiceMetrics) => new ModelClient(tiers, metrics),
          inject: [{ token: ServiceMetrics, optional: true }],
        },
      ],
      exports: [ModelClient],
    };
  }
}

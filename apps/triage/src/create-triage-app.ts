import { installSecurityHeaders } from '@deliberate/http';
import { JsonLogger } from '@deliberate/telemetry';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TriageModule } from './app.module';
import type { TriageConfig } from './config';

export async function createTriageApp(config: TriageConfig): Promise<INestApplication> {
  const app = await NestFactory.create(TriageModule.forRoot(config), {
    logger: new JsonLogger('triage', config.LOG_LEVEL),
  });
  installSecurityHeaders(app);
  app.enableShutdownHooks();
  return app;
}

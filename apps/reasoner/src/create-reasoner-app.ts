import { installSecurityHeaders } from '@deliberate/http';
import { JsonLogger } from '@deliberate/telemetry';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ReasonerModule } from './app.module';
import type { ReasonerConfig } from './config';

/** The reasoner, initialised: migrations run, topics exist, recovery claimed what it could, consumers joined. */
export async function createReasonerApp(config: ReasonerConfig): Promise<INestApplication> {
  const app = await NestFactory.create(ReasonerModule.forRoot(config), {
    logger: new JsonLogger('reasoner', config.LOG_LEVEL),
  });
  installSecurityHeaders(app);
  app.enableShutdownHooks();
  await app.init();
  return app;
}

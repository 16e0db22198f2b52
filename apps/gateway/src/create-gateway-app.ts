import { JsonLogger } from '@deliberate/telemetry';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { GatewayModule } from './app.module';
import type { GatewayConfig } from './config';
import { installJsonBodyParser, refuseNonOriginTargets } from '@deliberate/http';

export async function createGatewayApp(config: GatewayConfig): Promise<INestApplication> {
  const app = await NestFactory.create(GatewayModule.forRoot(config), {
    bodyParser: false,
    logger: new JsonLogger('gateway', config.LOG_LEVEL),
  });
  // Before routing and before any body is read: a request target that is not a plain path never reaches a route.
  app.use(refuseNonOriginTargets);
  installJsonBodyParser(app, config.GATEWAY_MAX_BODY_BYTES);
  app.use('/docs/assets', express.static(getAbsoluteFSPath(), { index: false }));
  app.enableShutdownHooks();
  return app;
}

import { JsonLogger } from '@deliberate/telemetry';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { GatewayModule } from './app.module';
import { authenticateBeforeBody } from './auth/authenticate-before-body';
import { RequestAuthenticator } from './auth/request-authenticator';
import type { GatewayConfig } from './config';
import {
  installJsonBodyParser,
  installSecurityHeaders,
  refuseNonOriginTargets,
  refuseUnsafeRequestText,
} from '@deliberate/http';
import { serveConsole } from './console/console-files';
import { DOCS_CONTENT_SECURITY_POLICY } from './docs/docs.controller';

export async function createGatewayApp(config: GatewayConfig): Promise<INestApplication> {
  const app = await NestFactory.create(GatewayModule.forRoot(config), {
    bodyParser: false,
    logger: new JsonLogger('gateway', config.LOG_LEVEL),
  });
  installSecurityHeaders(app, {
    page: { pathPrefix: '/docs', contentSecurityPolicy: DOCS_CONTENT_SECURITY_POLICY },
  });
  // Before routing and before any body is read: a request target that is not a plain path never reaches a route.
  app.use(refuseNonOriginTargets);
  app.use(refuseUnsafeRequestText);
  // The console's files are public (it signs in with an API key it sends to the API, like any client).
  app.use(serveConsole(config.CONSOLE_DIR));
  // Before the body parser: a body is read only from a caller with a valid key within its rate.
  app.use(authenticateBeforeBody(app.get(RequestAuthenticator)));
  installJsonBodyParser(app, config.GATEWAY_MAX_BODY_BYTES);
  app.use('/docs/assets', express.static(getAbsoluteFSPath(), { index: false }));
  app.enableShutdownHooks();
  return app;
}
